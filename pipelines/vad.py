"""Where the speech is: Silero VAD, from the weights the `silero-vad` package ships.

The package loads its model as TorchScript (a pickle) or through onnxruntime; it
also ships the same 16 kHz weights as `silero_vad_16k.safetensors`, which this
module loads into the architecture written out in torch (the one the package's
`tinygrad_model.py` describes): a learnt STFT (a strided convolution), four
convolutions and an LSTM cell, one speech probability per 32 ms (512 samples,
each seen with the 64 samples before it). The convolutions run over all frames
at once, as does the LSTM's input projection; only the recurrence steps frame
by frame, in numpy (torch's own `nn.LSTM` took 10 ms a step on these CPUs, numpy
under 0.1 ms), so a minute of audio takes a fraction of a second.

Turning probabilities into speech stretches (thresholds, minimum silence,
padding, splitting stretches longer than a limit at their longest pause) is the
package's own `get_speech_timestamps_from_probs`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16_000
FRAME = 512  # samples per probability
CONTEXT = 64  # samples of the previous frame each frame sees
WEIGHTS = "silero_vad_16k.safetensors"

# faster-whisper's choices for Whisper: pauses under 2 s stay inside a stretch
# (Whisper reads a short pause better than a cut), 0.4 s of margin each side.
MIN_SILENCE_MS = 2000
SPEECH_PAD_MS = 400
THRESHOLD = 0.5


@dataclass(frozen=True)
class Speech:
    start: int  # samples at 16 kHz
    end: int


def weights_path() -> Path:
    """The safetensors file inside the installed `silero-vad` package (found without importing it)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("silero-vad is not installed: pip install silero-vad")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / WEIGHTS
    if not path.is_file():
        raise ImportError(f"the installed silero-vad has no {WEIGHTS}; install silero-vad 6 or later")
    return path


def available() -> bool:
    try:
        weights_path()
    except ImportError:
        return False
    return True


class SileroVAD:
    """Speech probabilities and speech stretches of 16 kHz mono audio."""

    def __init__(self, model):
        self.model = model

    @classmethod
    def load(cls) -> SileroVAD:
        import torch
        from safetensors.torch import load_file

        state = load_file(str(weights_path()))
        model = _Silero()
        with torch.no_grad():
            for name in ("stft_conv", "conv1", "conv2", "conv3", "conv4", "final_conv"):
                layer = getattr(model, name)
                layer.weight.copy_(state[f"{name}.weight"])
                if layer.bias is not None:
                    layer.bias.copy_(state[f"{name}.bias"])
            for part in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(model.lstm, part).copy_(state[f"lstm_cell.{part}"])
        return cls(model.eval())

    def probabilities(self, samples: np.ndarray) -> np.ndarray:
        """One speech probability per 512 samples (the last frame padded with zeros), float32."""
        import torch

        count = -(-len(samples) // FRAME)
        padded = np.zeros(CONTEXT + count * FRAME, dtype=np.float32)
        padded[CONTEXT : CONTEXT + len(samples)] = samples
        # frame i is samples [i*512 - 64, (i+1)*512): a strided view, no copy
        frames = np.lib.stride_tricks.as_strided(
            padded, shape=(count, CONTEXT + FRAME), strides=(FRAME * padded.strides[0], padded.strides[0])
        )
        with torch.inference_mode():
            return self.model(torch.from_numpy(np.ascontiguousarray(frames))).numpy()

    def speech(self, samples: np.ndarray, *, max_seconds: float = float("inf")) -> list[Speech]:
        """The stretches of speech in `samples` (16 kHz), none longer than `max_seconds`, in order."""
        probabilities = self.probabilities(samples)
        found = _timestamps(
            probabilities.tolist(),
            sampling_rate=RATE,
            threshold=THRESHOLD,
            min_silence_duration_ms=MIN_SILENCE_MS,
            speech_pad_ms=SPEECH_PAD_MS,
            max_speech_duration_s=max_seconds,
            audio_length_samples=len(samples),
        )
        return [Speech(int(s["start"]), int(s["end"])) for s in found]


def _timestamps(probabilities: list[float], **options) -> list[dict]:
    import torch

    # Importing silero_vad sets torch's thread count to 1 for the whole process: undo that.
    threads = torch.get_num_threads()
    try:
        from silero_vad import get_speech_timestamps_from_probs
    finally:
        torch.set_num_threads(threads)
    return get_speech_timestamps_from_probs(probabilities, **options)


def _module():
    import torch
    from torch import nn

    class Silero(nn.Module):
        def __init__(self):
            super().__init__()
            self.stft_conv = nn.Conv1d(1, 258, kernel_size=256, stride=128, bias=False)
            self.conv1 = nn.Conv1d(129, 128, kernel_size=3, padding=1)
            self.conv2 = nn.Conv1d(128, 64, kernel_size=3, stride=2, padding=1)
            self.conv3 = nn.Conv1d(64, 64, kernel_size=3, stride=2, padding=1)
            self.conv4 = nn.Conv1d(64, 128, kernel_size=3, padding=1)
            self.lstm = nn.LSTMCell(128, 128)
            self.final_conv = nn.Conv1d(128, 1, 1)

        def forward(self, frames: torch.Tensor) -> torch.Tensor:
            """(frames, 576) samples -> (frames,) speech probabilities, the LSTM carried across frames."""
            x = nn.functional.pad(frames, (0, 64), mode="reflect").unsqueeze(1)
            x = self.stft_conv(x)
            x = torch.sqrt(x[:, :129] ** 2 + x[:, 129:] ** 2)
            for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
                x = torch.relu(conv(x))
            lstm = self.lstm
            gates = nn.functional.linear(x.squeeze(-1), lstm.weight_ih, lstm.bias_ih + lstm.bias_hh).numpy()
            hidden = _recur(gates, lstm.weight_hh.numpy())
            head = self.final_conv
            logits = np.maximum(hidden, 0) @ head.weight[0, :, 0].numpy() + head.bias.numpy()
            return torch.from_numpy(_sigmoid(logits))

    return Silero


def _recur(gates: np.ndarray, weight_hh: np.ndarray) -> np.ndarray:
    """The LSTM cell's hidden state after each frame, from its input gates (frames, 4 x 128); torch's gate order i, f, g, o."""
    size = weight_hh.shape[1]
    recurrent = np.ascontiguousarray(weight_hh.T)
    hidden, cell = np.zeros(size, np.float32), np.zeros(size, np.float32)
    out = np.empty((len(gates), size), np.float32)
    for step, gate in enumerate(gates):
        g = gate + hidden @ recurrent
        i, f, o = (_sigmoid(g[k * size : (k + 1) * size]) for k in (0, 1, 3))
        cell = f * cell + i * np.tanh(g[2 * size : 3 * size])
        hidden = o * np.tanh(cell)
        out[step] = hidden
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * x))  # never overflows, unlike 1 / (1 + exp(-x))


def _Silero():  # noqa: N802 - builds the module class lazily, so importing this file does not import torch
    return _module()()


def pack(stretches: list[Speech], length: int) -> list[tuple[Speech, ...]]:
    """Consecutive stretches joined into windows of at most `length` samples of speech each.

    The silence between the stretches of one window is left out (Whisper reads the
    speech back to back, as faster-whisper feeds it), so few 30 s windows carry all
    the speech. A stretch longer than `length` (at most a frame over, from the
    padding) is its own window; the caller cuts it.
    """
    windows: list[list[Speech]] = []
    used = length
    for stretch in stretches:
        size = stretch.end - stretch.start
        if used + size > length:
            windows.append([])
            used = 0
        windows[-1].append(stretch)
        used += size
    return [tuple(window) for window in windows]

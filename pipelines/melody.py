"""Melody-conditioned music with MusicGen Melody: "play this tune in the style of ...".

MusicGen Melody hears a melody as its chroma: for every hop of 4096 samples at
32 kHz (128 ms) a one-hot vector naming the loudest of the 12 pitch classes
(C, C#, ..., B). transformers' feature extractor computes it with torchaudio,
which does not install beside the pinned torch; `chroma` computes the same
definition with transformers' numpy audio utilities: a power spectrogram
(periodic Hann window of `n_fft`, centred frames padded by reflection, divided
by the window's energy as torchaudio's `normalized=True` does), the chroma
filter bank (librosa's, `chroma_filter_bank` with tuning 0, C first), the
loudest class per frame. The model reads at most 30 s of chroma (235 frames)
and tiles a shorter melody to fill them.

The chroma and the text are prepended to the decoder's input, so one 30 s
window is written: `duration` is at most 30 s here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipelines.audio_io import MAX_SECONDS, is_silent, load_audio
from pipelines.devices import seeded
from pipelines.loading import SAFE_LOAD
from pipelines.music import SETTINGS, WINDOW_SECONDS, TextToMusic, _progress
from pipelines.results import AudioResult
from pipelines.settings import checked
from pipelines.stopping import Stop

D = SETTINGS.defaults

# facebook/musicgen-melody's feature extractor settings, used when a checkpoint lacks them
FEATURES = {"sampling_rate": 32000, "n_fft": 16384, "hop_length": 4096, "chunk_length": 30, "num_chroma": 12}
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def chroma(samples: np.ndarray, *, sampling_rate: int, n_fft: int, hop_length: int, num_chroma: int = 12) -> np.ndarray:
    """The one-hot chroma of mono `samples` at `sampling_rate`: shape (frames, num_chroma), float32."""
    raw = raw_chroma(samples, sampling_rate=sampling_rate, n_fft=n_fft, hop_length=hop_length, num_chroma=num_chroma)
    loudest = np.argmax(raw / np.maximum(np.abs(raw).max(axis=0, keepdims=True), 1e-6), axis=0)
    one_hot = np.zeros((raw.shape[1], num_chroma), dtype=np.float32)
    one_hot[np.arange(raw.shape[1]), loudest] = 1.0
    return one_hot


def raw_chroma(samples: np.ndarray, *, sampling_rate: int, n_fft: int, hop_length: int, num_chroma: int = 12) -> np.ndarray:
    """The energy of each pitch class in each frame, shape (num_chroma, frames), before the one-hot choice."""
    from transformers.audio_utils import chroma_filter_bank, spectrogram, window_function

    samples = np.asarray(samples, dtype=np.float32)
    if len(samples) < n_fft:  # as the extractor does: centre the audio in one FFT's length
        pad = n_fft - len(samples)
        samples = np.pad(samples, (pad // 2, pad - pad // 2))
    window = window_function(n_fft, "hann", periodic=True)
    power = spectrogram(
        samples, window, frame_length=n_fft, hop_length=hop_length, power=2.0, center=True, pad_mode="reflect",
        dtype=np.float64,
    )
    power /= np.sum(window**2)  # torchaudio's normalized=True scales the frame by 1/||window||
    filters = chroma_filter_bank(num_frequency_bins=n_fft, num_chroma=num_chroma, sampling_rate=sampling_rate, tuning=0)
    return filters @ power


class MelodyToMusic(TextToMusic):
    """MusicGen Melody: `prompt` is the style, `melody` (any audio) the tune."""

    task = "text_to_music"
    loading = "melody-conditioned music"

    def __init__(self, model, tokenizer, features: dict, name: str):
        super().__init__(model, tokenizer, name)
        self.tokenizer = tokenizer
        self.features = {key: int(features.get(key, value)) for key, value in FEATURES.items()}

    @classmethod
    def load_parts(cls, name: str, device: str, dtype) -> tuple:
        """A MusicGen Melody model, its tokenizer and its feature extractor's settings."""
        from transformers import AutoTokenizer, MusicgenMelodyForConditionalGeneration
        from transformers.utils import cached_file

        tokenizer = AutoTokenizer.from_pretrained(name)
        melody = MusicgenMelodyForConditionalGeneration.from_pretrained(name, dtype=dtype, **SAFE_LOAD).to(device).eval()
        # the extractor's settings as data (its class needs torchaudio)
        path = cached_file(name, "preprocessor_config.json", _raise_exceptions_for_missing_entries=False)
        features = json.loads(Path(path).read_text()) if path else {}
        return melody, tokenizer, features

    def melody_features(self, melody) -> tuple[np.ndarray, float]:
        """The chroma of the first 30 s of `melody` (path, (rate, array) or AudioResult), and its length in s."""
        rate = self.features["sampling_rate"]
        samples, _ = load_audio(melody, rate, max_seconds=MAX_SECONDS, name="melody")
        if is_silent(samples):
            raise ValueError("melody is silent (its peak is under -60 dBFS); give a tune to follow")
        seconds = len(samples) / rate
        samples = samples[: self.features["chunk_length"] * rate]
        options = {k: self.features[k] for k in ("n_fft", "hop_length", "num_chroma")}
        return chroma(samples, sampling_rate=rate, **options), seconds

    @checked(SETTINGS)
    def __call__(
        self,
        prompt: str,
        *,
        melody=None,
        duration: float = D.duration,
        guidance: float = D.guidance,
        temperature: float = D.temperature,
        top_k: int = D.top_k,
        seed: int | None = D.seed,
        stop: Stop = None,
    ) -> AudioResult:
        """`duration` seconds (at most 30) of music after `prompt`, following the tune of `melody`."""
        params = self._params(prompt, locals(), allow_empty=True)
        if params["duration"] > WINDOW_SECONDS:
            raise ValueError(
                f"duration with a melody must be at most {WINDOW_SECONDS:g} s (one MusicGen Melody window), "
                f"got {params['duration']:g}"
            )
        features, seconds = self.melody_features(melody)
        from tqdm import tqdm

        frames = self._frames(params["duration"])
        with tqdm(total=frames + self.delay, desc="music", unit="token", disable=None, leave=False) as bar:
            with seeded(params["seed"], self.device):
                audio = self._melody_generate(params, features, frames, _progress(bar, stop))
        params.update(melody_seconds=round(seconds, 3), melody_pitch_classes=_summary(features))
        return self._result(self.task, audio, params)

    def _melody_generate(self, params: dict, features: np.ndarray, frames: int, progress) -> np.ndarray:
        import torch

        text = self.tokenizer([params["prompt"]], padding=True, return_tensors="pt").to(self.device)
        chroma_input = torch.from_numpy(features)[None].to(self.device, self.model.dtype)
        with torch.no_grad():
            output = self.model.generate(
                **text,
                input_features=chroma_input,
                do_sample=True,
                guidance_scale=params["guidance"],
                temperature=params["temperature"],
                top_k=params["top_k"],
                max_new_tokens=frames + self.delay,
                stopping_criteria=[progress],
            )
        return output[0].float().cpu().numpy().T.astype(np.float32)  # (samples, channels)


def _summary(features: np.ndarray) -> str:
    """The melody's pitch classes, most frequent first (for the recipe): "A 60%, E 25%, ..."."""
    counts = features.sum(axis=0)
    order = [i for i in np.argsort(-counts, kind="stable") if counts[i]][:4]
    return ", ".join(f"{PITCH_CLASSES[i]} {100 * counts[i] / counts.sum():.0f}%" for i in order)

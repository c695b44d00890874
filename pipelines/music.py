"""Text-to-music and music continuation with MusicGen over transformers.

MusicGen writes EnCodec codes, `frame_rate` frames a second (50 in the released
models), several codebooks per frame with a delay pattern: codebook k lags k
frames, so `generate` needs `codebooks - 1` extra steps to finish the last frame.
A duration d therefore asks for `round(d * frame_rate) + codebooks - 1` new
tokens. Stereo checkpoints (musicgen-stereo-*) interleave two sets of codebooks
and return two channels: results then have shape (samples, 2).

MusicGen was trained on 30 s clips. Longer music is written window by window:
each new window is prompted with the last 10 s written so far (re-encoded by
EnCodec, the way an audio prompt is) and adds up to 20 s. `continue_music` is the
same loop started from the caller's audio (`continue_audio`, its name before, is kept
for one release).

Sampling draws from torch's global generator (`generate` takes no generator), so
the seed is set around each call with the caller's random state kept.
"""

from __future__ import annotations

import math

import numpy as np
from tqdm import tqdm

from pipelines import checks
from pipelines.audio_io import MAX_SECONDS, decode, resample, to_mono
from pipelines.devices import precision_of, seeded
from pipelines.loading import SAFE_LOAD
from pipelines.results import AudioResult
from pipelines.settings import SEED, Setting, Settings, checked
from pipelines.stopping import Stop, halt_if, stop_check
from pipelines.wrapper import Wrapper

MIN_DURATION, MAX_DURATION = 0.1, 120.0
MAX_GUIDANCE = 20.0
MAX_TEMPERATURE = 5.0
MAX_TOP_K = 10_000
MAX_PROMPT_CHARS = 2000
WINDOW_SECONDS = 30.0  # MusicGen's training clip length
CONTEXT_SECONDS = 10.0  # audio carried into the next window
SETTINGS = Settings(
    Setting("duration", float, 8.0, low=MIN_DURATION, high=MAX_DURATION, step=0.5, unit="s",
            help=("Duration (s)", "Durée (s)")),
    Setting("guidance", float, 3.0, low=1.0, high=MAX_GUIDANCE, step=0.5, help=("Guidance (1 = off)", "Guidage (1 = aucun)")),
    Setting("temperature", float, 1.0, low=0.0, high=MAX_TEMPERATURE, step=0.05, low_open=True,
            help=("Temperature", "Température")),
    Setting("top_k", int, 250, low=0, high=MAX_TOP_K, help=("Top-k (0 = all codes)", "Top-k (0 = tous les codes)")),
    SEED,
    Setting("keep_prompt", bool, False, help=("Start the result with the given audio", "Commencer le résultat par l'audio donné")),
)
D = SETTINGS.defaults


def _progress(bar, stop: Stop = None):
    """A StoppingCriteria advancing `bar` by one per generated token and raising Cancelled on a stop request.

    MusicGen's `generate` hands a streamer only the prompt, so tokens are counted
    here; it raises rather than ends `generate`, whose last step cannot take codes
    cut short of the delay pattern.
    """
    import torch
    from transformers import StoppingCriteria

    should_stop = stop_check(stop)

    class Progress(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            bar.update(1)
            halt_if(should_stop, "music generation")
            return torch.zeros((input_ids.shape[0],), dtype=torch.bool, device=input_ids.device)

    return Progress()


class TextToMusic(Wrapper):
    task = "text_to_music"
    kind = "music"  # for the number format (pipelines.devices)
    loading = "music generation"
    int8_parts = ("decoder",)  # where the time goes; the text encoder and EnCodec stay float32

    def __init__(self, model, processor, name: str):
        self.model = model
        self.processor = processor
        self.name = name
        self.device = str(model.device)
        decoder = model.config.decoder
        self.channels = int(getattr(decoder, "audio_channels", 1))
        self.delay = decoder.num_codebooks // self.channels - 1
        self.frame_rate = int(model.config.audio_encoder.frame_rate)
        self.sampling_rate = int(model.config.audio_encoder.sampling_rate)
        self.hop = self.sampling_rate // self.frame_rate

    @classmethod
    def load_parts(cls, name: str, device: str, dtype) -> tuple:
        """A MusicGen model and its processor."""
        from transformers import AutoProcessor, MusicgenForConditionalGeneration

        processor = AutoProcessor.from_pretrained(name)
        musicgen = MusicgenForConditionalGeneration.from_pretrained(name, dtype=dtype, **SAFE_LOAD).to(device).eval()
        return musicgen, processor

    @staticmethod
    def _params(prompt, given: dict, *, allow_empty: bool = False) -> dict:
        """The prompt, checked, and the call's declared settings among `given` (its `locals()`, checked by
        `@checked`): what the model reads and the recipe records."""
        return {"prompt": checks.text("prompt", prompt, max_chars=MAX_PROMPT_CHARS, allow_empty=allow_empty),
                **SETTINGS.pick(given)}

    @checked(SETTINGS)
    def __call__(
        self,
        prompt: str,
        *,
        duration: float = D.duration,
        guidance: float = D.guidance,
        temperature: float = D.temperature,
        top_k: int = D.top_k,
        seed: int | None = D.seed,
        stop: Stop = None,
    ) -> AudioResult:
        """`duration` seconds of music after `prompt`. `guidance` 1 turns classifier-free guidance off;
        `top_k` 0 samples from every code. `stop` (an Event or a function) raises Cancelled within a token."""
        params = self._params(prompt, locals())
        audio = self._write(params, None, self._frames(params["duration"]), stop)
        return self._result(self.task, audio, params)

    @checked(SETTINGS)
    def continue_music(
        self,
        audio,
        prompt: str = "",
        *,
        duration: float = D.duration,
        guidance: float = D.guidance,
        temperature: float = D.temperature,
        top_k: int = D.top_k,
        seed: int | None = D.seed,
        keep_prompt: bool = D.keep_prompt,
        stop: Stop = None,
    ) -> AudioResult:
        """`duration` seconds more of `audio` (path, (rate, array) or AudioResult), steered by `prompt`.

        The last 10 s of `audio` condition the model. The result holds only the new
        music, or with `keep_prompt` the given audio (at the model's rate) followed by it.
        """
        params = self._params(prompt, locals(), allow_empty=True)
        given = self._as_channels(resample(*_decoded(audio, self.sampling_rate), self.sampling_rate))
        whole = len(given) // self.hop * self.hop
        if whole == 0:
            raise ValueError(f"audio is shorter than one MusicGen frame ({1000 / self.frame_rate:g} ms)")
        new = self._write(params, given[len(given) - whole :], self._frames(params["duration"]), stop)
        params.update(audio_seconds=round(len(given) / self.sampling_rate, 3))
        return self._result("continue_music", np.concatenate([given, new]) if keep_prompt else new, params)

    continue_audio = continue_music  # its name before: kept for one release

    def _frames(self, duration: float) -> int:
        return max(1, round(duration * self.frame_rate))

    def _as_channels(self, samples: np.ndarray) -> np.ndarray:
        """(samples, channels) as the model writes them: mono averaged, or mono copied to both sides."""
        mono = to_mono(samples)
        return mono[:, None] if self.channels == 1 else np.repeat(mono[:, None], self.channels, axis=1)

    def _write(self, params: dict, context: np.ndarray | None, frames: int, stop: Stop = None) -> np.ndarray:
        """`frames` new frames after `context`, window by window, each prompted with the end of what came before."""
        window = int(WINDOW_SECONDS * self.frame_rate)
        carried = int(CONTEXT_SECONDS * self.frame_rate) * self.hop
        steps, left = [], frames
        room = window - (0 if context is None else len(context[-carried:]) // self.hop)
        while left > 0:
            steps.append(min(left, room))
            left -= steps[-1]
            room = window - carried // self.hop
        past = np.zeros((0, self.channels), dtype=np.float32) if context is None else context
        written = len(past)
        with tqdm(
            total=sum(steps) + self.delay * len(steps), desc="music", unit="token", disable=None, leave=False
        ) as bar:
            with seeded(params["seed"], self.device):
                for count in steps:
                    head = past[-carried:] if len(past) else None
                    past = np.concatenate([past, self._generate(params, head, count, _progress(bar, stop))])
        return past[written:]

    def _generate(self, params: dict, head: np.ndarray | None, frames: int, progress) -> np.ndarray:
        """`frames` new frames after `head` (samples, channels), as float32 (samples, channels)."""
        import torch

        inputs = {"text": [params["prompt"]], "padding": True, "return_tensors": "pt"}
        if head is not None:
            # the processor takes (channels, samples) for stereo and (samples,) for mono
            inputs.update(audio=[head.T if self.channels > 1 else head[:, 0]], sampling_rate=self.sampling_rate)
        encoded = self.processor(**inputs).to(self.device)
        if "input_values" in encoded:
            encoded["input_values"] = encoded["input_values"].to(self.model.dtype)
        with torch.no_grad():
            output = self.model.generate(
                **encoded,
                do_sample=True,
                guidance_scale=params["guidance"],
                temperature=params["temperature"],
                top_k=params["top_k"],
                max_new_tokens=frames + self.delay,
                stopping_criteria=[progress],
            )
        audio = output[0].float().cpu().numpy().T  # (samples, channels)
        if head is not None:  # the output starts with the prompt, re-decoded: keep only what is new
            audio = audio[math.ceil(len(head) / self.hop) * self.hop :]
        return audio.astype(np.float32)

    def _result(self, task: str, audio: np.ndarray, params: dict) -> AudioResult:
        audio = audio[:, 0] if self.channels == 1 else audio
        recipe = {
            "task": task,
            "model": self.name,
            **params,
            "sampling_rate": self.sampling_rate,
            "channels": self.channels,
            "dtype": precision_of(self.model),
        }
        return AudioResult(
            audio=np.ascontiguousarray(audio, dtype=np.float32), sampling_rate=self.sampling_rate, params=recipe
        )


def _decoded(audio, rate: int) -> tuple[np.ndarray, int]:
    """The caller's audio prompt as (samples, channels) float32 and its rate."""
    return decode(audio, name="audio", max_seconds=MAX_SECONDS, sampling_rate=rate)

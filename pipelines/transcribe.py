"""Speech-to-text with Whisper over transformers: transcribe or translate, with timestamps.

Whisper hears 30 s at a time. Longer audio is cut into windows of at most 30 s,
each ending at the quietest 20 ms of its last 2 s so a cut rarely falls inside
a word, and the windows are decoded in batches: one `generate` call serves
`batch_size` windows. Each window is decoded in one greedy pass (no seeking
back, no sampling), so batched and one-by-one decoding give the same text, and
the output is deterministic (no seed).

Silent windows (peak under -60 dBFS) are skipped: Whisper invents words in
silence. Silent input gives an empty transcript.

A call goes: 1. check inputs, 2. read the audio at 16 kHz, 3. cut windows,
4. detect the language on the first window with sound (unless forced), as
OpenAI's `transcribe` does, 5. decode the windows batch by batch, 6. turn
timestamp tokens into segments in seconds from the start of the input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from pipelines import checks
from pipelines.audio_io import MAX_SECONDS, is_silent, load_audio
from pipelines.devices import pick_device, pick_dtype, precision_of
from pipelines.loading import SAFE_LOAD, load
from pipelines.results import Transcript

TASKS = ("transcribe", "translate")
MAX_BATCH = 64
CUT_SEARCH_SECONDS = 2.0
CUT_FRAME_SECONDS = 0.02


@dataclass(frozen=True)
class Window:
    start: int  # samples
    end: int


def windows(audio: np.ndarray, rate: int, length: int, search: int | None = None) -> list[Window]:
    """Consecutive windows of at most `length` samples covering `audio`.

    Each window but the last ends at the quietest frame of its final `search` samples.
    """
    search = int(CUT_SEARCH_SECONDS * rate) if search is None else search
    frame = max(1, int(CUT_FRAME_SECONDS * rate))
    cuts: list[Window] = []
    start = 0
    while start < len(audio):
        end = start + length
        if end >= len(audio):
            end = len(audio)
        elif search >= frame:
            tail = audio[end - search : end]
            energy = np.square(tail[: len(tail) // frame * frame]).reshape(-1, frame).sum(axis=1)
            # the last of the quietest frames: keeps windows as long as possible
            quietest = len(energy) - 1 - int(np.argmin(energy[::-1]))
            end = end - search + (quietest + 1) * frame
        cuts.append(Window(start, end))
        start = end
    return cuts


class SpeechToText:
    task = "speech_to_text"
    kind = "speech_to_text"  # for the number format (pipelines.devices)

    def __init__(self, model, processor, name: str):
        self.model = model
        self.processor = processor
        self.name = name
        self.device = str(model.device)
        self.dtype = model.dtype
        config = model.generation_config
        self.multilingual = bool(getattr(config, "is_multilingual", False))
        lang_to_id = getattr(config, "lang_to_id", None) or {}
        self.languages = tuple(token.strip("<|>") for token in lang_to_id) if self.multilingual else ("en",)
        self.timestamp_begin = config.no_timestamps_token_id + 1
        self.text_end = processor.tokenizer.convert_tokens_to_ids("<|endoftext|>")
        extractor = processor.feature_extractor
        self.time_precision = extractor.chunk_length / model.config.max_source_positions

    @classmethod
    def from_pretrained(cls, model: str, *, device: str | None = None, dtype=None) -> SpeechToText:
        device = pick_device(device or "auto")
        dtype = pick_dtype(device, dtype, kind=cls.kind)

        def loader(name: str):
            from transformers import WhisperForConditionalGeneration, WhisperProcessor

            processor = WhisperProcessor.from_pretrained(name)
            whisper = WhisperForConditionalGeneration.from_pretrained(name, dtype=dtype, **SAFE_LOAD).to(device).eval()
            return whisper, processor

        whisper, processor = load(model, "speech to text", loader)
        return cls(whisper, processor, model)

    def modules(self) -> list:
        """The torch modules holding weights (the model cache counts their memory)."""
        return [self.model]

    @property
    def sampling_rate(self) -> int:
        return int(self.processor.feature_extractor.sampling_rate)

    @property
    def window_samples(self) -> int:
        return int(self.processor.feature_extractor.n_samples)

    def __call__(
        self,
        audio,
        *,
        task: str = "transcribe",
        language: str | None = None,
        timestamps: bool = True,
        batch_size: int = 8,
    ) -> Transcript:
        """The words spoken in `audio` (path, (rate, array) or AudioResult), at most 10 minutes.

        `task="translate"` gives English text whatever the language spoken. `language`
        None or "auto" detects it; a code ("en", "fr", ...) forces it. With `timestamps`
        False each window is one segment.
        """
        task = checks.choice("task", task, TASKS if self.multilingual else ("transcribe",))
        forced = None if language in (None, "", "auto") else checks.choice("language", language, self.languages)
        if not isinstance(timestamps, bool):
            raise ValueError(f"timestamps must be true or false, got {timestamps!r}")
        batch_size = checks.integer("batch_size", batch_size, low=1, high=MAX_BATCH)
        samples, _ = load_audio(audio, self.sampling_rate, max_seconds=MAX_SECONDS)
        duration = len(samples) / self.sampling_rate
        spoken = [
            w
            for w in windows(samples, self.sampling_rate, self.window_samples)
            if not is_silent(samples[w.start : w.end])
        ]

        detected = forced
        segments: list[tuple[float, float, str]] = []
        if spoken:
            if detected is None:
                detected = self.detect_language(samples[spoken[0].start : spoken[0].end]) if self.multilingual else "en"
            with tqdm(total=len(spoken), desc="transcription", unit="window", disable=None, leave=False) as bar:
                for first in range(0, len(spoken), batch_size):
                    batch = spoken[first : first + batch_size]
                    tokens = self.generate([samples[w.start : w.end] for w in batch], task, detected, timestamps)
                    for window, sequence in zip(batch, tokens, strict=True):
                        segments += self.segments(
                            sequence, window.start / self.sampling_rate, window.end / self.sampling_rate, timestamps
                        )
                    bar.update(len(batch))
        segments.sort(key=lambda s: (s[0], s[1]))
        recipe = {
            "task": self.task,
            "model": self.name,
            "whisper_task": task,
            "language": forced or "auto",
            "timestamps": timestamps,
            "batch_size": batch_size,
            "audio_seconds": round(duration, 3),
            "dtype": precision_of(self.model),
        }
        text = " ".join(s[2] for s in segments)
        return Transcript(text=text, segments=segments, language=detected if spoken else forced, params=recipe)

    def features(self, clips: list[np.ndarray]):
        """Log-mel features of clips of at most 30 s, each padded to 30 s as Whisper expects."""
        inputs = self.processor.feature_extractor(
            clips, sampling_rate=self.sampling_rate, return_tensors="pt", return_attention_mask=True
        )
        return inputs.input_features.to(self.device, self.dtype), inputs.attention_mask.to(self.device)

    def detect_language(self, clip: np.ndarray) -> str:
        """The code of the language Whisper hears in `clip` (at most 30 s)."""
        import torch

        features, _ = self.features([clip])
        with torch.no_grad():
            token = self.model.detect_language(features)[0].item()
        return self.processor.tokenizer.convert_ids_to_tokens(token).strip("<|>")

    def generate(self, clips: list[np.ndarray], task: str, language: str, timestamps: bool) -> list[list[int]]:
        """The generated token ids of each clip (one greedy pass per clip, all clips in one batch)."""
        import torch

        features, mask = self.features(clips)
        options = {"task": task, "language": language} if self.multilingual else {}
        with torch.no_grad():
            output = self.model.generate(
                features,
                attention_mask=mask,
                return_timestamps=timestamps,
                num_beams=1,
                do_sample=False,
                force_unique_generate_call=True,
                **options,
            )
        sequences = output["sequences"] if isinstance(output, dict) else output
        return sequences.tolist()

    def segments(self, tokens: list[int], start: float, end: float, timestamps: bool) -> list[tuple[float, float, str]]:
        """(start, end, text) in seconds from the input's start, for the tokens of the window [start, end].

        Timestamp tokens open and close segments; text left open at the end of the
        window (the speech goes on past the cut) closes at the window's end.
        """
        decode = self.processor.tokenizer.decode
        if not timestamps:
            text = decode([t for t in tokens if t < self.text_end]).strip()
            return [(start, end, text)] if text else []
        found: list[tuple[float, float, str]] = []
        opened, text_ids = 0.0, []
        for token in tokens:
            if token >= self.timestamp_begin:
                moment = (token - self.timestamp_begin) * self.time_precision
                text = decode(text_ids).strip()
                if text:
                    found.append((opened, moment, text))
                opened, text_ids = moment, []
            elif token < self.text_end:
                text_ids.append(token)
        text = decode(text_ids).strip()
        if text:
            found.append((opened, end - start, text))
        return [(_within(start + a, start, end), _within(start + max(a, b), start, end), text) for a, b, text in found]


def _within(moment: float, low: float, high: float) -> float:
    return round(min(max(moment, low), high), 3)

"""Speech-to-text with Whisper over transformers: transcribe or translate, with timestamps.

Whisper hears 30 s at a time. With `vad` (the default) Silero VAD finds the
speech (see `pipelines/vad.py`): pauses of 2 s or more are left out, and the
stretches of speech are packed back to back into windows of at most 30 s, so a
window always ends inside a pause and Whisper never hears long silence (in
which it invents words). Segment times are mapped back onto the input, so the
skipped silence shows as gaps between segments; the recipe gives its total.

Without `vad` (or without the silero-vad package), audio is cut into windows of
at most 30 s, each ending at the quietest 20 ms of its last 2 s so a cut rarely
falls inside a word, and windows whose peak is under -60 dBFS are skipped.

Windows are decoded in batches: one `generate` call serves `batch_size`
windows. Each window is decoded in one greedy pass (no seeking back, no
sampling), so batched and one-by-one decoding give the same text, and the
output is deterministic (no seed). Silent input gives an empty transcript.

A call goes: 1. check inputs, 2. read the audio at 16 kHz, 3. cut windows,
4. detect the language on the first window with sound (unless forced), as
OpenAI's `transcribe` does, 5. decode the windows batch by batch, 6. turn
timestamp tokens into segments in seconds from the start of the input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from pipelines import checks, words
from pipelines import vad as silero
from pipelines.audio_io import MAX_SECONDS, is_silent, load_audio
from pipelines.devices import precision_of
from pipelines.loading import SAFE_LOAD
from pipelines.results import Transcript
from pipelines.settings import Setting, Settings, checked
from pipelines.stopping import Stop, halt_if, stop_check, stopping_criteria
from pipelines.wrapper import Wrapper

TASKS = ("transcribe", "translate")
MAX_BATCH = 64
# The languages offered first; Whisper knows about a hundred, and the model checks any code it is given.
SPOKEN_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "pl", "ru", "zh", "ja", "ko", "ar", "hi", "tr")
CUT_SEARCH_SECONDS = 2.0
CUT_FRAME_SECONDS = 0.02


def _check_language(name: str, value) -> str:
    """"auto" (detected) for None, "" or "auto"; any other text is checked by the model, which knows its languages."""
    if value in (None, "") or (isinstance(value, str) and value.strip().lower() == "auto"):
        return "auto"
    if not isinstance(value, str):
        checks.choice(name, value, ("auto", *SPOKEN_LANGUAGES))  # raises, listing the common codes
    return value


def _check_timestamps(name: str, value) -> bool | str:
    """True (segments), False (one segment a window) or "word" (segments and their words)."""
    if isinstance(value, bool) or value == "word":
        return value
    raise ValueError(f"{name} must be true, false or 'word', got {value!r}")


SETTINGS = Settings(
    Setting("task", str, "transcribe", choices=TASKS,
            help=("Task (translate: into English)", "Tâche (traduire : vers l'anglais)")),
    Setting("language", str, "auto", choices=("auto", *SPOKEN_LANGUAGES), check_value=_check_language,
            help=("Spoken language (auto = detected)", "Langue parlée (auto = détectée)")),
    Setting("timestamps", bool, True, check_value=_check_timestamps, help=("Timestamps", "Horodatage")),
    Setting("batch_size", int, 8, low=1, high=MAX_BATCH,
            help=("30 s windows decoded at once", "Fenêtres de 30 s décodées ensemble")),
    Setting("vad", bool, True, help=("Find the speech (Silero VAD): skip pauses, cut windows in them",
                                     "Trouver la parole (Silero VAD) : sauter les pauses, y couper les fenêtres")),
)
D = SETTINGS.defaults


@dataclass(frozen=True)
class Window:
    start: int  # samples
    end: int
    # the (start, end) stretches of speech heard back to back; empty: all of [start, end)
    pieces: tuple[tuple[int, int], ...] = ()

    def parts(self) -> tuple[tuple[int, int], ...]:
        return self.pieces or ((self.start, self.end),)

    def clip(self, samples: np.ndarray) -> np.ndarray:
        parts = self.parts()
        return samples[parts[0][0] : parts[0][1]] if len(parts) == 1 else np.concatenate([samples[a:b] for a, b in parts])

    def to_source(self, moment: float, rate: int, *, closing: bool = False) -> float:
        """A time in the clip (seconds) as a time in the input, clamped to the window.

        A moment on the seam of two pieces belongs to the piece it `closes`, or opens.
        """
        offset = 0
        parts = self.parts()
        for index, (a, b) in enumerate(parts):
            size = b - a
            last = index == len(parts) - 1
            sample = moment * rate - offset
            if last or sample < size or (closing and sample <= size):
                return round(min(max(a + sample, a), b) / rate, 3)
            offset += size
        raise AssertionError("unreachable")


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


class SpeechToText(Wrapper):
    task = "speech_to_text"
    kind = "speech_to_text"  # for the number format (pipelines.devices)
    loading = "speech to text"

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
        self._vad = None  # Silero VAD, loaded on first use

    @classmethod
    def load_parts(cls, name: str, device: str, dtype) -> tuple:
        """A Whisper model and its processor."""
        from transformers import WhisperForConditionalGeneration, WhisperProcessor

        processor = WhisperProcessor.from_pretrained(name)
        whisper = WhisperForConditionalGeneration.from_pretrained(name, dtype=dtype, **SAFE_LOAD).to(device).eval()
        return whisper, processor

    @property
    def sampling_rate(self) -> int:
        return int(self.processor.feature_extractor.sampling_rate)

    @property
    def window_samples(self) -> int:
        return int(self.processor.feature_extractor.n_samples)

    @checked(SETTINGS)
    def __call__(
        self,
        audio,
        *,
        task: str = D.task,
        language: str = D.language,
        timestamps: bool | str = D.timestamps,
        batch_size: int = D.batch_size,
        vad: bool = D.vad,
        stop: Stop = None,
    ) -> Transcript:
        """The words spoken in `audio` (path, (rate, array) or AudioResult), at most 10 minutes.

        `task="translate"` gives English text whatever the language spoken. `language`
        "auto" (or None) detects it; a code ("en", "fr", ...) forces it. With `timestamps`
        False each window is one segment; "word" adds each segment's words with their
        times (from the alignment heads), in `Transcript.words`. `vad` finds the speech with Silero VAD and
        skips the pauses; False cuts at the quietest moments instead. `stop` (an Event or a
        function) raises Cancelled within a token of the request.
        """
        # 1. check: the declared settings on the way in (@checked), then what this model can do
        should_stop = stop_check(stop)
        if not self.multilingual:
            task = checks.choice("task", task, ("transcribe",))
        forced = None if language == "auto" else checks.choice("language", language, self.languages)
        word_times = timestamps == "word"
        if word_times and not getattr(self.model.generation_config, "alignment_heads", None):
            raise ValueError(
                f"timestamps='word' needs the model's alignment heads; {self.name!r} has no alignment_heads "
                "in its generation_config.json: use timestamps=True"
            )
        samples, _ = load_audio(audio, self.sampling_rate, max_seconds=MAX_SECONDS)
        duration = len(samples) / self.sampling_rate
        notices: list[str] = []
        if vad and not silero.available():
            notices.append("silero-vad is not installed: cut at the quietest moments instead (pip install silero-vad)")
            vad = False
        spoken = self.speech_windows(samples) if vad else self.quiet_windows(samples)
        heard = sum(b - a for w in spoken for a, b in w.parts())

        detected = forced
        found = []
        if spoken:
            if detected is None:
                detected = self.detect_language(spoken[0].clip(samples)) if self.multilingual else "en"
            with tqdm(total=len(spoken), desc="transcription", unit="window", disable=None, leave=False) as bar:
                for first in range(0, len(spoken), batch_size):
                    batch = spoken[first : first + batch_size]
                    tokens, times = self.generate(
                        [w.clip(samples) for w in batch], task, detected, bool(timestamps), word_times, should_stop
                    )
                    for index, (window, sequence) in enumerate(zip(batch, tokens, strict=True)):
                        found += self.window_segments(sequence, window, bool(timestamps), times and times[index])
                    bar.update(len(batch))
        found.sort(key=lambda pair: (pair[0][0], pair[0][1]))
        segments = [segment for segment, _ in found]
        recipe = {
            "task": self.task,
            "model": self.name,
            "whisper_task": task,
            "language": forced or "auto",
            "timestamps": timestamps,
            "batch_size": batch_size,
            "vad": vad,
            "audio_seconds": round(duration, 3),
            "dtype": precision_of(self.model),
            "skipped_seconds": round((len(samples) - heard) / self.sampling_rate, 3),
            "windows": len(spoken),
        }
        if notices:
            recipe["notices"] = notices
        text = " ".join(s[2] for s in segments)
        return Transcript(
            text=text,
            segments=segments,
            language=detected if spoken else forced,
            params=recipe,
            words=[spoken for _, spoken in found] if word_times else [],
        )

    def quiet_windows(self, samples: np.ndarray) -> list[Window]:
        """Windows cut at the quietest moments, silent ones left out."""
        cuts = windows(samples, self.sampling_rate, self.window_samples)
        return [w for w in cuts if not is_silent(samples[w.start : w.end])]

    def speech_windows(self, samples: np.ndarray) -> list[Window]:
        """Windows of the speech Silero VAD finds, pauses left out; an over-long stretch cut at its quietest."""
        if self._vad is None:
            self._vad = silero.SileroVAD.load()
        length = self.window_samples
        stretches = self._vad.speech(samples, max_seconds=length / self.sampling_rate)
        found: list[Window] = []
        for group in silero.pack(stretches, length):
            pieces = tuple((s.start, s.end) for s in group)
            if len(pieces) == 1 and pieces[0][1] - pieces[0][0] > length:
                a, b = pieces[0]
                found += [Window(a + w.start, a + w.end) for w in windows(samples[a:b], self.sampling_rate, length)]
            else:
                found.append(Window(pieces[0][0], pieces[-1][1], pieces if len(pieces) > 1 else ()))
        return found

    def window_segments(
        self, tokens: list[int], window: Window, timestamps: bool, times: list[float] | None = None
    ) -> list[tuple[tuple[float, float, str], list[tuple[float, float, str]]]]:
        """The segments of one window's tokens, with their words, in seconds from the input's start."""
        rate = self.sampling_rate
        if not window.pieces:
            return self.split(tokens, window.start / rate, window.end / rate, timestamps, times)
        found = self.split(tokens, 0.0, sum(b - a for a, b in window.parts()) / rate, timestamps, times)
        mapped = []
        for (a, b, text), spoken in found:
            segment = (window.to_source(a, rate), window.to_source(b, rate, closing=True), text)
            moved = [(window.to_source(x, rate), window.to_source(y, rate, closing=True), w) for x, y, w in spoken]
            mapped.append((segment, words.place(moved, segment[0], segment[1])))
        return mapped

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

    def generate(
        self,
        clips: list[np.ndarray],
        task: str,
        language: str,
        timestamps: bool,
        word_times: bool = False,
        should_stop: Callable[[], bool] | None = None,
    ) -> tuple[list[list[int]], list[list[float]] | None]:
        """The generated token ids of each clip (one greedy pass per clip, all clips in one batch),
        and with `word_times` each token's start in seconds (from the alignment heads)."""
        import torch

        halt_if(should_stop, "transcription")
        features, mask = self.features(clips)
        options = {"task": task, "language": language} if self.multilingual else {}
        if word_times:
            options["return_token_timestamps"] = True
        if should_stop is not None:
            options["stopping_criteria"] = [stopping_criteria(should_stop)]
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
        halt_if(should_stop, "transcription")  # a batch cut short by the stop is not a transcript
        sequences = output["sequences"] if isinstance(output, dict) else output
        times = output["token_timestamps"].float().tolist() if word_times else None
        return sequences.tolist(), times

    def segments(self, tokens: list[int], start: float, end: float, timestamps: bool) -> list[tuple[float, float, str]]:
        """(start, end, text) in seconds from the input's start, for the tokens of the window [start, end].

        Timestamp tokens open and close segments; text left open at the end of the
        window (the speech goes on past the cut) closes at the window's end.
        """
        return [segment for segment, _ in self.split(tokens, start, end, timestamps)]

    def split(
        self, tokens: list[int], start: float, end: float, timestamps: bool, times: list[float] | None = None
    ) -> list[tuple[tuple[float, float, str], list[tuple[float, float, str]]]]:
        """Each segment of `segments` with its words (start, end, word), when `times` (one per token) are given."""
        decode = self.processor.tokenizer.decode
        runs: list[tuple[float, float, list[int]]] = []  # (opened, closed, positions of the text tokens)
        opened, positions = 0.0, []
        for position, token in enumerate(tokens):
            if timestamps and token >= self.timestamp_begin:
                moment = (token - self.timestamp_begin) * self.time_precision
                runs.append((opened, moment, positions))
                opened, positions = moment, []
            elif token < self.text_end:
                positions.append(position)
        runs.append((opened if timestamps else 0.0, end - start, positions))
        found = []
        for a, b, positions in runs:
            text = decode([tokens[p] for p in positions]).strip()
            if not text:
                continue
            segment = (_within(start + a, start, end), _within(start + max(a, b), start, end), text)
            found.append((segment, self._words(tokens, positions, times, start, segment) if times else []))
        return found

    def _words(self, tokens, positions, times, start, segment) -> list[tuple[float, float, str]]:
        """The words of one segment's text tokens, on the input's clock, inside the segment."""
        tokenizer = self.processor.tokenizer
        pieces = tokenizer.convert_ids_to_tokens([tokens[p] for p in positions])
        following = positions[-1] + 1
        after = times[following] if following < len(times) else segment[1] - start
        grouped = words.group(pieces, [times[p] for p in positions], after)
        raw = []
        for members, a, b in grouped:
            word = tokenizer.decode([tokens[positions[m]] for m in members]).strip()
            if word:
                raw.append((start + a, start + b, word))
        return words.place(raw, segment[0], segment[1])


def _within(moment: float, low: float, high: float) -> float:
    return round(min(max(moment, low), high), 3)

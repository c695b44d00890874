"""Text-to-speech with VITS (MMS-TTS) models over transformers: one model per language.

MMS-TTS voices are small (about 36M weights) and fast on a CPU. They read
characters, not phonemes: the tokenizer lowercases and silently drops what its
alphabet lacks (emoji, other scripts), so the text is normalised to NFC first
and what was dropped is reported in the recipe's `notices`.

A call goes: 1. check inputs, 2. split the text into sentences (long ones at
commas, then spaces), 3. synthesise each piece with the same seed (VITS samples
noise for durations and the waveform), 4. join them with short pauses.

The number format follows `pipelines.devices` (bfloat16 on CPUs with bfloat16
units, where it measured 0.48x float32's time); the audio comes out float32.

MMS voices of non-Latin scripts (kor, rus, hin, ...) were trained on text
romanized with uroman (their tokenizer says `is_uroman`): native-script text is
romanized here, with the voice's language code, and the recipe keeps both.

Multi-speaker VITS checkpoints (`config.num_speakers > 1`, e.g. VCTK-trained
ones) hold one learned embedding per speaker: `speaker` picks it by index.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata

import numpy as np
from tqdm import tqdm

from pipelines import checks
from pipelines.devices import precision_of, seeded
from pipelines.loading import SAFE_LOAD
from pipelines.results import AudioResult
from pipelines.settings import SEED, Setting, Settings, checked
from pipelines.wrapper import Wrapper

MAX_TEXT_CHARS = 5000
MAX_PIECE_CHARS = 250  # MMS-TTS was trained on single sentences; longer inputs slur
MAX_SPEAKERS = 10_000  # the voice checks its own count (VCTK-trained checkpoints hold about a hundred)
SETTINGS = Settings(
    Setting("speaking_rate", float, 1.0, low=0.25, high=4.0, step=0.05,
            help=("Speaking rate (1 = normal)", "Débit (1 = normal)")),
    Setting("pause", float, 0.25, low=0.0, high=2.0, step=0.05, unit="s",
            help=("Pause between sentences (s)", "Pause entre les phrases (s)")),
    SEED,
    Setting("speaker", int, None, low=0, high=MAX_SPEAKERS,
            help=("Speaker of a multi-speaker voice (its index)", "Locuteur d'une voix à plusieurs locuteurs (son numéro)")),
)
D = SETTINGS.defaults

_SENTENCE_END = re.compile(r"(?<=[.!?…。！？;:])\s+|\n+")
_CLAUSE_END = re.compile(r"(?<=[,，、])\s+")


def split_text(text: str, max_chars: int = MAX_PIECE_CHARS) -> list[str]:
    """Sentences of `text`; a sentence longer than `max_chars` is cut at commas, then spaces."""
    pieces: list[str] = []
    for sentence in filter(None, (s.strip() for s in _SENTENCE_END.split(text))):
        for clause in _fit(_CLAUSE_END.split(sentence), max_chars, " "):
            pieces += _fit(clause.split(), max_chars, " ") if len(clause) > max_chars else [clause]
    return [p for piece in pieces for p in _cut(piece, max_chars)]


def _fit(parts: list[str], max_chars: int, joiner: str) -> list[str]:
    """Consecutive parts joined while the result stays within `max_chars`."""
    merged: list[str] = []
    for part in parts:
        if merged and len(merged[-1]) + len(joiner) + len(part) <= max_chars:
            merged[-1] += joiner + part
        else:
            merged.append(part)
    return merged


def _cut(piece: str, max_chars: int) -> list[str]:
    """A word longer than `max_chars` (no space to cut at) in plain slices."""
    return [piece[i : i + max_chars] for i in range(0, len(piece), max_chars)]


def speaker_count(config) -> int:
    """The number of speakers of a VITS config (a `VitsConfig` or its `config.json` as a dict)."""
    count = config.get("num_speakers", 1) if isinstance(config, dict) else getattr(config, "num_speakers", 1)
    return max(int(count or 1), 1)


class TextToSpeech(Wrapper):
    task = "text_to_speech"
    kind = "text_to_speech"  # for the number format (pipelines.devices)
    loading = "text to speech"

    def __init__(self, model, tokenizer, name: str):
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.device = str(model.device)

    @classmethod
    def load_parts(cls, name: str, device: str, dtype) -> tuple:
        """A VITS voice in `dtype` (`from_pretrained`'s default: the device's format for speech, pipelines.devices)
        and its tokenizer."""
        from transformers import VitsModel, VitsTokenizer

        tokenizer = VitsTokenizer.from_pretrained(name)
        voice = VitsModel.from_pretrained(name, dtype=dtype, **SAFE_LOAD).to(device).eval()
        return voice, tokenizer

    @property
    def sampling_rate(self) -> int:
        return int(self.model.config.sampling_rate)

    @property
    def speakers(self) -> int:
        """How many speakers the voice holds (1 for MMS-TTS)."""
        return speaker_count(self.model.config)

    @checked(SETTINGS)
    def __call__(
        self,
        text: str,
        *,
        speaking_rate: float = D.speaking_rate,
        pause: float = D.pause,
        seed: int | None = D.seed,
        speaker: int | None = D.speaker,
    ) -> AudioResult:
        """Speech reading `text`, faster with a rate above 1, `pause` seconds of silence between sentences.

        `speaker`: the index of a multi-speaker voice's speaker (default: its first).
        """
        # 1. check: the declared settings on the way in (@checked), then the text and the speaker against this voice
        text = unicodedata.normalize("NFC", checks.text("text", text, max_chars=MAX_TEXT_CHARS))
        speaker = self._check_speaker(speaker)
        settings = SETTINGS.pick(locals())  # what it speaks with, checked: the recipe records them
        spoken = self._romanize(text)
        pieces = [(piece, self._encode(piece)) for piece in split_text(spoken)]
        pieces = [(piece, ids) for piece, ids in pieces if ids.shape[-1] > 0]
        if not pieces:
            raise ValueError(f"text has no character this voice can read (voice {self._shown_name()}); write words in its language")
        gap = np.zeros(round(pause * self.sampling_rate), dtype=np.float32)
        parts: list[np.ndarray] = []
        for index, (_, ids) in enumerate(tqdm(pieces, desc="speech", unit="sentence", disable=None, leave=False)):
            if index:
                parts.append(gap)
            parts.append(self._synthesise(ids, speaking_rate, seed, speaker))
        recipe = {
            "task": self.task,
            "model": self.name,
            "text": text,
            **settings,
            "sentences": len(pieces),
            "dtype": precision_of(self.model),
        }
        if self.speakers == 1:
            del recipe["speaker"]  # one-speaker voices have none to name
        if spoken != text:
            recipe["romanized"] = spoken
        dropped = self._unreadable(spoken)
        if dropped:
            recipe["notices"] = [f"characters this voice cannot read were skipped: {' '.join(dropped)}"]
        return AudioResult(audio=np.concatenate(parts), sampling_rate=self.sampling_rate, params=recipe)

    @functools.cached_property
    def _uroman(self):
        import uroman

        return uroman.Uroman()  # reads its Unicode tables once per voice: seconds, not per sentence

    def _romanize(self, text: str) -> str:
        if not getattr(self.tokenizer, "is_uroman", False) or text.isascii():
            return text
        language = getattr(self.tokenizer, "language", None)
        code = language if isinstance(language, str) and re.fullmatch(r"[a-z]{3}", language) else None
        return unicodedata.normalize("NFC", self._uroman.romanize_string(text, lcode=code))

    def _encode(self, piece: str):
        return self.tokenizer(piece, return_tensors="pt").input_ids

    def _check_speaker(self, speaker) -> int | None:
        if speaker is None:
            return 0 if self.speakers > 1 else None
        if self.speakers == 1:
            raise ValueError(f"voice {self._shown_name()} has one speaker; leave the speaker out, got speaker {speaker!r}")
        return checks.integer("speaker", speaker, low=0, high=self.speakers - 1)

    def _shown_name(self) -> str:
        # A voice loaded from a folder is named by the folder's name: the server's folders are not the user's business.
        return os.path.basename(self.name.rstrip("/\\")) if os.path.isabs(self.name) else self.name

    def _synthesise(self, input_ids, rate: float, seed: int, speaker: int | None = None) -> np.ndarray:
        import torch

        # The same seed for every sentence: a sentence sounds the same wherever it appears.
        chosen = {} if speaker is None else {"speaker_id": speaker}
        with seeded(seed, self.device), torch.no_grad():
            waveform = self.model(input_ids=input_ids.to(self.device), speaking_rate=rate, **chosen).waveform
        return waveform[0].float().cpu().numpy()

    def _unreadable(self, text: str) -> list[str]:
        vocab = self.tokenizer.get_vocab()
        lowered = text.lower() if getattr(self.tokenizer, "normalize", True) else text
        return sorted({c for c in lowered if c not in vocab and not c.isspace()})

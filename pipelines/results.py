"""What every task returns: small dataclasses carrying the output and its recipe.

`params` is the full recipe (task, model, seed and every setting), enough to
generate the same output again. Only numpy and PIL here, so results can be
pickled, saved and read back without torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class ImageResult:
    images: list  # PIL images
    seeds: list[int]
    params: dict[str, Any]
    previews: list = field(default_factory=list)  # PIL images, noise turning into the first image


@dataclass
class TextResult:
    text: str
    params: dict[str, Any]


@dataclass
class AudioResult:
    audio: np.ndarray  # float32, shape (samples,) or (samples, channels)
    sampling_rate: int
    params: dict[str, Any]

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sampling_rate


@dataclass
class Transcript:
    text: str
    segments: list[tuple[float, float, str]]
    language: str | None
    params: dict[str, Any]

    def to_srt(self) -> str:
        blocks = [
            f"{i}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{_cue(text)}\n"
            for i, (start, end, text) in enumerate(self.segments, 1)
        ]
        return "\n".join(blocks)

    def to_vtt(self) -> str:
        blocks = [f"{_clock(start, '.')} --> {_clock(end, '.')}\n{_cue(text)}\n" for start, end, text in self.segments]
        return "WEBVTT\n\n" + "\n".join(blocks)


def _cue(text: str) -> str:
    """One line of cue text, markup escaped.

    A line break would end the cue (a blank line) or corrupt it; a `<` starts a
    tag (`<i>`, `<v Name>`), so players (ffmpeg, webvtt-py, browsers) drop the text
    after an unescaped one, and `&` starts an entity. WebVTT defines `&lt;` `&gt;`
    `&amp;`; SRT has no standard, and the same entities are what SubRip editors and
    HTML-style SRT readers decode. Escaping `>` also breaks up a `-->` in the text,
    which would otherwise read as a timing line.
    """
    line = " ".join(text.split()) or "..."
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clock(seconds: float, decimal_mark: str) -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_mark}{millis:03d}"

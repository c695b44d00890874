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
    mask: Any = None  # PIL "L" image an inpaint or outpaint redrew (white), saved beside the images


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
    # with timestamps="word": the (start, end, word) of each segment, one list per segment
    words: list[list[tuple[float, float, str]]] = field(default_factory=list)

    def word_list(self) -> list[tuple[float, float, str]]:
        """Every word in order, flat (empty unless word timestamps were asked for)."""
        return [word for segment in self.words for word in segment]

    def to_srt(self) -> str:
        blocks = [
            f"{i}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{_cue(text)}\n"
            for i, (start, end, text) in enumerate(self.segments, 1)
        ]
        return "\n".join(blocks)

    def to_vtt(self) -> str:
        """WebVTT cues; with word timestamps each word after the first is preceded by its
        start as a cue timestamp (`<00:00:01.250>`), which players use for karaoke-style highlighting."""
        blocks = []
        for index, (start, end, text) in enumerate(self.segments):
            spoken = self.words[index] if index < len(self.words) else []
            line = _cue(text) if not spoken else _timed_cue(spoken, start)
            blocks.append(f"{_clock(start, '.')} --> {_clock(end, '.')}\n{line}\n")
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


def _timed_cue(spoken: list[tuple[float, float, str]], start: float) -> str:
    """The words of a cue, each one said after the cue's start preceded by its timestamp tag."""
    parts = []
    for moment, _, word in spoken:
        tag = f"<{_clock(moment, '.')}>" if round(moment, 3) > round(start, 3) else ""
        parts.append(tag + _cue(word))
    return " ".join(parts)


def _clock(seconds: float, decimal_mark: str) -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_mark}{millis:03d}"

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
    """One line of cue text: a blank line or an arrow inside it would end or corrupt the cue."""
    return " ".join(text.split()).replace("-->", "->") or "..."


def _clock(seconds: float, decimal_mark: str) -> str:
    millis = round(max(seconds, 0.0) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_mark}{millis:03d}"

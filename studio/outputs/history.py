"""What was saved, across modalities: listing the outputs folder and drawing thumbnails.

Images are their own thumbnails; audio gets its waveform drawn, text a card
with its first lines, so one gallery can show everything. Thumbnails are drawn
into a cache folder keyed by the file's path and modification time.
"""

from __future__ import annotations

import hashlib
import json
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

PRIMARY = {".png": "image", ".wav": "audio", ".flac": "audio", ".mp3": "audio", ".ogg": "audio", ".json": "text"}
THUMB = (256, 256)


@dataclass
class Entry:
    path: Path
    kind: str  # image | audio | text
    recipe: dict

    @property
    def task(self) -> str:
        return str(self.recipe.get("task", self.kind))

    @property
    def summary(self) -> str:
        """The words that made it: a prompt, a text, or the conversation's last message."""
        messages = self.recipe.get("messages")
        last = messages[-1].get("content", "") if isinstance(messages, list) and messages and isinstance(messages[-1], dict) else ""
        return str(self.recipe.get("prompt") or self.recipe.get("text") or last or self.path.stem.split("-", 1)[-1])

    @property
    def caption(self) -> str:
        return f"{self.task}: {self.summary[:60]}"


def list_outputs(root: Path, limit: int = 60) -> list[Entry]:
    """The newest saved outputs with a readable recipe, newest first.

    A result saved as several files (a transcript's .json, .srt and .vtt) counts
    once, by its main file; the JSON sidecar of an audio file is not listed.
    """
    from studio.outputs import read_recipe

    if not Path(root).is_dir():
        return []
    root = Path(root)
    files = [
        p for p in root.rglob("*")
        if p.suffix.lower() in PRIMARY and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    files.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
    entries, stems = [], set()
    for path in files:
        stem = path.with_suffix("")
        if stem in stems:
            continue
        try:
            recipe = read_recipe(path)
        except (ValueError, OSError, json.JSONDecodeError):
            continue
        stems.add(stem)
        entries.append(Entry(path, PRIMARY[path.suffix.lower()], recipe))
        if len(entries) == limit:
            break
    return entries


def thumbnail(entry: Entry, cache: Path) -> Path:
    """A PNG picturing `entry`: the image itself, a waveform, or a text card."""
    if entry.kind == "image":
        return entry.path
    stat = entry.path.stat()
    key = hashlib.sha256(f"2|{entry.path.resolve()}|{stat.st_mtime_ns}".encode()).hexdigest()[:20]  # 2: the card layout
    target = Path(cache) / f"{key}.png"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        picture = _waveform(entry) if entry.kind == "audio" else _card(entry)
        staging = target.with_suffix(f".{os.getpid()}.tmp")
        picture.save(staging, "PNG")
        os.replace(staging, target)
    return target


def _waveform(entry: Entry) -> Image.Image:
    """A card that reads at a glance: the task and length, the loudness over time, the words that made it.

    The loudness is the RMS of each column on a 60 dB scale (peaks drawn fainter
    behind): a plain peak plot of music or noise fills the card edge to edge.
    """
    import numpy as np

    from pipelines.audio_io import load_audio

    width, height = THUMB
    image = Image.new("RGB", THUMB, (24, 24, 40))
    draw = ImageDraw.Draw(image)
    try:
        samples, rate = load_audio(entry.path)
    except ValueError:
        draw.text((10, 8), f"{entry.task}: unreadable", fill=(230, 120, 120))
        return image
    draw.text((10, 8), f"{entry.task} · {len(samples) / rate:.1f} s", fill=(200, 210, 240))
    top, bottom = 40, height - 64
    middle, half = (top + bottom) / 2, (bottom - top) / 2
    draw.line([(8, middle), (width - 8, middle)], fill=(60, 60, 90))
    columns = np.array_split(samples, width - 16) if len(samples) >= width else [samples]
    for x, column in enumerate(columns, start=8):
        if column.size == 0:
            continue
        peak = float(np.abs(column).max())
        rms = float(np.sqrt(np.mean(np.square(column, dtype=np.float64))))
        level = lambda value: max(0.0, min(1.0, (20 * np.log10(max(value, 1e-6)) + 60) / 60))  # noqa: E731
        draw.line([(x, middle - half * level(peak)), (x, middle + half * level(peak))], fill=(70, 100, 160))
        draw.line([(x, middle - half * level(rms)), (x, middle + half * level(rms))], fill=(140, 200, 255))
    words = textwrap.wrap(entry.summary, 34)[:3]
    draw.multiline_text((10, bottom + 10), "\n".join(words), fill=(220, 220, 230), spacing=3)
    return image


def _card(entry: Entry) -> Image.Image:
    image = Image.new("RGB", THUMB, (245, 242, 232))
    draw = ImageDraw.Draw(image)
    lines = textwrap.wrap(entry.summary, 34)[:14]
    draw.text((10, 8), entry.task, fill=(120, 60, 20))
    draw.multiline_text((10, 30), "\n".join(lines), fill=(30, 30, 30), spacing=3)
    return image

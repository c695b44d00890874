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
    key = hashlib.sha256(f"{entry.path.resolve()}|{stat.st_mtime_ns}".encode()).hexdigest()[:20]
    target = Path(cache) / f"{key}.png"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        picture = _waveform(entry.path) if entry.kind == "audio" else _card(entry)
        staging = target.with_suffix(f".{os.getpid()}.tmp")
        picture.save(staging, "PNG")
        os.replace(staging, target)
    return target


def _waveform(path: Path) -> Image.Image:
    from pipelines.audio_io import load_audio

    image = Image.new("RGB", THUMB, (24, 24, 40))
    draw = ImageDraw.Draw(image)
    try:
        samples, _ = load_audio(path)
    except ValueError:
        return image
    width, height = THUMB
    columns = max(1, len(samples) // width)
    peaks = [float(abs(samples[i * columns:(i + 1) * columns]).max(initial=0)) for i in range(width)]
    scale = max(peaks) or 1.0
    for x, peak in enumerate(peaks):
        half = peak / scale * (height / 2 - 8)
        draw.line([(x, height / 2 - half), (x, height / 2 + half)], fill=(120, 180, 255))
    return image


def _card(entry: Entry) -> Image.Image:
    image = Image.new("RGB", THUMB, (245, 242, 232))
    draw = ImageDraw.Draw(image)
    lines = textwrap.wrap(entry.summary, 34)[:14]
    draw.text((10, 8), entry.task, fill=(120, 60, 20))
    draw.multiline_text((10, 30), "\n".join(lines), fill=(30, 30, 30), spacing=3)
    return image

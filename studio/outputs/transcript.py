"""Transcripts as JSON (recipe, text, segments) with SRT, WebVTT and plain text beside it.

Four files share a numbered stem: `.json` is `{"format": "studio-transcript",
"recipe": {...}, "text", "language", "segments": [[start, end, text], ...]}` (with
word timestamps also `"words"`: one `[[start, end, word], ...]` per segment);
`.srt` and `.vtt` are subtitles for video players and editors; `.txt` is the
text alone. `read` finds the recipe in the `.json`, also when handed one of the
other three.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.results import Transcript
from studio import __version__
from studio.outputs import jsontext, slug, write_files

FORMAT = "studio-transcript"
SUFFIXES = (".json", ".srt", ".vtt", ".txt")


def save(result: Transcript, folder: Path) -> list[Path]:
    recipe = {**result.params, "studio_version": __version__}
    document = {
        "format": FORMAT,
        "recipe": recipe,
        "text": result.text,
        "language": result.language,
        "segments": [list(segment) for segment in result.segments],
    }
    if result.words:  # timestamps="word": one list of [start, end, word] per segment
        document["words"] = [[list(word) for word in segment] for segment in result.words]
    texts = {
        ".json": json.dumps(document, ensure_ascii=False, indent=2),
        ".srt": result.to_srt(),
        ".vtt": result.to_vtt(),
        ".txt": result.text + "\n" if result.text else "",
    }
    label = "-".join(part for part in (recipe.get("task", "speech_to_text"), slug(result.text)) if part)
    return write_files(
        folder,
        label,
        {suffix: lambda file, text=text: file.write(text.encode("utf-8")) for suffix, text in texts.items()},
    )


def read(path: Path) -> dict[str, Any] | None:
    if path.suffix.lower() not in SUFFIXES:
        return None
    document_path = path.with_suffix(".json")
    try:
        document = jsontext.loads(document_path.read_bytes(), repr(document_path.name))
    except jsontext.OverLimit:
        raise
    except (OSError, ValueError):
        return None
    if isinstance(document, dict) and document.get("format") == FORMAT and isinstance(document.get("recipe"), dict):
        return document["recipe"]
    return None

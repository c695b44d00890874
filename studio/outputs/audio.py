"""Audio as WAV, FLAC or MP3 files carrying their recipe in the file's own tags.

The recipe is JSON in the format's comment tag, ASCII-escaped so no tag
encoding can mangle it:
- FLAC: the Vorbis comment `COMMENT` (libsndfile writes and reads it whole);
- MP3: the ID3 `COMM` frame (libsndfile's MP3 support, or ffmpeg where the
  installed libsndfile has none);
- WAV: the `ICMT` entry of a RIFF `LIST/INFO` chunk. libsndfile silently drops
  comments past about 2 KB, and a recipe holds the whole text read aloud, so
  this module writes and reads that chunk itself.
Every format holds tags, so no JSON sidecar is needed. Samples are stored as
16-bit PCM (WAV, FLAC), clipped to full scale as any 16-bit writer must.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from pipelines.results import AudioResult
from studio import __version__
from studio.outputs import jsontext, slug, write_files

FORMATS = ("wav", "flac", "mp3")
SUFFIXES = {".wav", ".flac", ".mp3"}


def recipe_of(result: AudioResult) -> dict[str, Any]:
    return {**result.params, "studio_version": __version__}


def save(result: AudioResult, folder: Path, format: str = "wav") -> list[Path]:
    """Write `result` as one file of `format` (wav, flac or mp3), its recipe in the tags."""
    from pipelines import checks

    format = checks.choice("format", format, FORMATS)
    recipe = recipe_of(result)
    comment = json.dumps(recipe, ensure_ascii=True)
    audio = np.clip(np.asarray(result.audio, dtype=np.float32), -1.0, 1.0)
    encode = {"wav": _wav, "flac": _flac, "mp3": _mp3}[format]
    data = encode(audio, result.sampling_rate, comment)
    subject = recipe.get("text") or recipe.get("prompt") or ""
    parts = [recipe.get("task", "audio"), recipe.get("seed"), subject and slug(subject)]
    label = "-".join(str(part) for part in parts if part not in (None, ""))
    return write_files(folder, label, {f".{format}": lambda file: file.write(data)})


def read(path: Path) -> dict[str, Any] | None:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        return None
    comment = _riff_comment(path) if suffix == ".wav" else _tag_comment(path)
    if not comment:
        return None
    try:
        recipe = jsontext.loads(comment, f"the recipe in {path.name!r}")
    except jsontext.OverLimit:
        raise
    except ValueError:
        return None  # a comment someone else wrote
    return recipe if isinstance(recipe, dict) else None


def _wav(audio: np.ndarray, rate: int, comment: str) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, audio, rate, format="WAV", subtype="PCM_16")
    data = bytearray(buffer.getvalue())
    if not comment:
        return bytes(data)
    data += _chunk(b"LIST", b"INFO" + _chunk(b"ICMT", comment.encode("ascii") + b"\0"))
    struct.pack_into("<I", data, 4, len(data) - 8)  # the RIFF size now counts the new chunk
    return bytes(data)


def _chunk(name: bytes, payload: bytes) -> bytes:
    return name + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")


def _flac(audio: np.ndarray, rate: int, comment: str) -> bytes:
    return _with_soundfile(audio, rate, comment, "FLAC", "PCM_16")


def _mp3(audio: np.ndarray, rate: int, comment: str) -> bytes:
    if "MP3" in sf.available_formats():
        return _with_soundfile(audio, rate, comment, "MP3", "MPEG_LAYER_III")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise ValueError("MP3 needs libsndfile 1.1+ or ffmpeg, and neither is here; choose format wav or flac")
    command = [
        ffmpeg,
        "-nostdin",
        "-v",
        "error",
        "-f",
        "wav",
        "-i",
        "pipe:0",
        "-metadata",
        f"comment={comment}",
        "-codec:a",
        "libmp3lame",
        "-q:a",
        "2",
        "-f",
        "mp3",
        "pipe:1",
    ]
    done = subprocess.run(command, input=_wav(audio, rate, ""), capture_output=True, timeout=600, check=False)
    if done.returncode != 0:
        raise ValueError(f"ffmpeg could not write MP3: {done.stderr.decode(errors='replace').strip()[-300:]}")
    return done.stdout


def _with_soundfile(audio: np.ndarray, rate: int, comment: str, format: str, subtype: str) -> bytes:
    buffer = io.BytesIO()
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    with sf.SoundFile(buffer, "w", samplerate=rate, channels=channels, format=format, subtype=subtype) as file:
        file.comment = comment
        file.write(audio)
    return buffer.getvalue()


def _riff_comment(path: Path) -> str | None:
    """The `ICMT` text of a WAV's `LIST/INFO` chunk, read without libsndfile's size limit."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"{path.name!r} could not be read ({error})") from error
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    position = 12
    while position + 8 <= len(data):
        name, size = data[position : position + 4], struct.unpack_from("<I", data, position + 4)[0]
        body = data[position + 8 : position + 8 + size]
        if name == b"LIST" and body[:4] == b"INFO":
            inner = 4
            while inner + 8 <= len(body):
                key, length = body[inner : inner + 4], struct.unpack_from("<I", body, inner + 4)[0]
                if key == b"ICMT":
                    return body[inner + 8 : inner + 8 + length].rstrip(b"\0").decode("utf-8", errors="replace")
                inner += 8 + length + length % 2
        position += 8 + size + size % 2
    return None


def _tag_comment(path: Path) -> str | None:
    """The comment tag as libsndfile reads it (FLAC, and MP3's COMM frame), else as ffprobe does.

    ffmpeg stores an MP3 comment in a TXXX frame, which libsndfile does not read.
    """
    try:
        with sf.SoundFile(str(path)) as file:
            comment = file.comment
    except (sf.LibsndfileError, RuntimeError):
        comment = None
    ffprobe = shutil.which("ffprobe")
    if comment or ffprobe is None:
        return comment
    command = [ffprobe, "-v", "error", "-show_entries", "format_tags=comment", "-of", "json", str(path)]
    done = subprocess.run(command, capture_output=True, timeout=60, check=False)
    try:
        return json.loads(done.stdout or b"{}").get("format", {}).get("tags", {}).get("comment")
    except json.JSONDecodeError:
        return None

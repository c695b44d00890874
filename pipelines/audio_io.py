"""Turning whatever a caller hands over into mono float32 samples at a model's rate.

Accepted: a file path (wav, flac, ogg, mp3 and whatever else libsndfile reads;
ffmpeg, where installed, decodes the rest), a `(sampling_rate, array)` tuple as
gradio gives it (uint8, int8, int16, int32 or float samples, shape `(samples,)`
or `(samples, channels)` with 1 to 8 channels, any rate from 1 kHz to 384 kHz;
`(array, sampling_rate)` as `soundfile.read` returns it works too) or an
`AudioResult`. Channels are averaged; the rate is changed with a polyphase
filter (`scipy.signal.resample_poly`), no torchaudio needed.

Empty, too short, too long, non-finite or unreadable audio raises `ValueError`
naming the problem. Silence is valid audio.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from pipelines.results import AudioResult

MAX_SECONDS = 600.0  # 10 minutes: the longest input any task accepts
MIN_SECONDS = 0.01
MIN_RATE, MAX_RATE = 1_000, 384_000
MAX_CHANNELS = 8
SILENCE_DBFS = -60.0  # a peak below this is silence (dither, a quiet room's noise floor)

# Integer samples -> (offset, scale) mapping them onto [-1, 1).
_INTEGER_SCALES = {
    np.dtype(np.uint8): (128.0, 128.0),
    np.dtype(np.int8): (0.0, 128.0),
    np.dtype(np.int16): (0.0, 32768.0),
    np.dtype(np.int32): (0.0, 2147483648.0),
}


def load_audio(
    value: Any, sampling_rate: int | None = None, *, max_seconds: float = MAX_SECONDS, name: str = "audio"
) -> tuple[np.ndarray, int]:
    """`value` as mono float32 samples, shape (samples,), and their rate: `sampling_rate`, else the source's."""
    samples, rate = decode(value, name=name, max_seconds=max_seconds, sampling_rate=sampling_rate)
    target = sampling_rate or rate
    return resample(to_mono(samples), rate, target), target


def decode(
    value: Any, *, name: str = "audio", max_seconds: float = MAX_SECONDS, sampling_rate: int | None = None
) -> tuple[np.ndarray, int]:
    """`value` as float32 samples of shape (samples, channels) and their rate, checked.

    `sampling_rate` is only a hint for the ffmpeg fallback, which decodes straight
    to mono at that rate.
    """
    if value is None:
        raise ValueError(f"{name} is missing; give a file path, a (sampling_rate, array) tuple or an AudioResult")
    if isinstance(value, (str, os.PathLike)):
        samples, rate = _read_file(Path(value), name, max_seconds, sampling_rate)
    elif isinstance(value, AudioResult):
        samples, rate = _from_array(value.audio, value.sampling_rate, name)
    elif isinstance(value, tuple) and len(value) == 2:
        rate, array = value
        if isinstance(rate, np.ndarray) and not isinstance(array, np.ndarray):
            array, rate = rate, array  # (array, rate), the order of soundfile.read
        samples, rate = _from_array(array, rate, name)
    elif isinstance(value, np.ndarray):
        raise ValueError(f"{name} array has no sampling rate; give a (sampling_rate, array) tuple")
    else:
        raise ValueError(
            f"{name} must be a file path, a (sampling_rate, array) tuple or an AudioResult, got {type(value).__name__}"
        )
    _check(samples, rate, name, max_seconds)
    return samples, rate


def to_mono(samples: np.ndarray) -> np.ndarray:
    """The average of the channels, float32, shape (samples,)."""
    if samples.ndim == 1:
        return samples.astype(np.float32, copy=False)
    return (
        samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 else samples[:, 0].astype(np.float32, copy=False)
    )


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """`samples` (first axis is time) from `rate` to `target` Hz with a polyphase low-pass filter."""
    from scipy.signal import resample_poly  # here: importing scipy.signal costs 0.6 s at app start

    if rate == target:
        return samples.astype(np.float32, copy=False)
    common = math.gcd(int(rate), int(target))
    return resample_poly(samples, target // common, rate // common, axis=0).astype(np.float32)


def is_silent(samples: np.ndarray, threshold_dbfs: float = SILENCE_DBFS) -> bool:
    """True when no sample reaches `threshold_dbfs` (0 dBFS is full scale)."""
    return samples.size == 0 or float(np.max(np.abs(samples))) < 10 ** (threshold_dbfs / 20)


def _check(samples: np.ndarray, rate: int, name: str, max_seconds: float) -> None:
    count = samples.shape[0]
    if count == 0:
        raise ValueError(f"{name} is empty (0 samples); give some sound")
    seconds = count / rate
    if seconds < MIN_SECONDS:
        raise ValueError(f"{name} is too short: {count} samples ({seconds:.4f} s); give at least {MIN_SECONDS:g} s")
    if seconds > max_seconds:
        raise ValueError(f"{name} is {seconds:.1f} s long; the limit is {max_seconds:g} s: cut it into parts")
    if not np.isfinite(samples).all():
        raise ValueError(f"{name} contains NaN or infinite samples")


def _check_rate(rate: Any, name: str) -> int:
    number = not isinstance(rate, bool) and isinstance(rate, (int, np.integer, float, np.floating))
    if not number or not math.isfinite(rate) or rate != int(rate):
        raise ValueError(f"{name} sampling rate must be a whole number of Hz, got {rate!r}")
    rate = int(rate)
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"{name} sampling rate must be between {MIN_RATE} and {MAX_RATE} Hz, got {rate}")
    return rate


def _from_array(array: Any, rate: Any, name: str) -> tuple[np.ndarray, int]:
    rate = _check_rate(rate, name)
    array = np.asarray(array)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or not 1 <= array.shape[1] <= MAX_CHANNELS:
        raise ValueError(
            f"{name} array must have shape (samples,) or (samples, channels) with 1 to {MAX_CHANNELS} channels, "
            f"got {array.shape}"
            + ("; a (channels, samples) array needs .T" if array.ndim == 2 and array.shape[0] <= MAX_CHANNELS else "")
        )
    dtype = array.dtype.newbyteorder("=")
    if dtype in _INTEGER_SCALES:
        offset, scale = _INTEGER_SCALES[dtype]
        return ((array.astype(np.float32) - offset) / scale).astype(np.float32), rate
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32), rate
    raise ValueError(f"{name} samples must be uint8, int8, int16, int32 or float, got {array.dtype}")


def _read_file(path: Path, name: str, max_seconds: float, sampling_rate: int | None) -> tuple[np.ndarray, int]:
    if not path.is_file():
        raise ValueError(f"{name} file {str(path)!r} does not exist")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as error:
        return _read_with_ffmpeg(path, name, max_seconds, sampling_rate, reason=str(error))
    if info.channels > MAX_CHANNELS:
        raise ValueError(f"{name} file {path.name!r} has {info.channels} channels; the limit is {MAX_CHANNELS}")
    if info.format == "WAV":
        _check_wav_length(path, name)
    # Refuse an over-long file before decoding it all into memory.
    if info.samplerate and info.frames / info.samplerate > max_seconds:
        raise ValueError(
            f"{name} is {info.frames / info.samplerate:.1f} s long; the limit is {max_seconds:g} s: cut it into parts"
        )
    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as error:
        return _read_with_ffmpeg(path, name, max_seconds, sampling_rate, reason=str(error))
    return samples, _check_rate(rate, name)


def _check_wav_length(path: Path, name: str) -> None:
    """Refuse a WAV whose header announces more sound than the file holds (cut short, or lying).

    libsndfile quietly reads what is there; a recording cut by a crash or a
    transfer would be taken for a whole one. A data size of 0 or 0xFFFFFFFF
    is the "length unknown" mark of streamed WAVs, and is accepted.
    """
    size = path.stat().st_size
    with open(path, "rb") as file:
        head = file.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return  # RF64, W64 and others: their own headers, libsndfile's checks
        block_align = 0
        for _ in range(64):  # a WAV has a handful of chunks; a file of thousands is not one to trust
            chunk = file.read(8)
            if len(chunk) < 8:
                return
            kind, length = chunk[:4], int.from_bytes(chunk[4:], "little")
            if kind == b"fmt " and length >= 14:
                fmt = file.read(length)
                block_align = int.from_bytes(fmt[12:14], "little")
                length = len(fmt)
                if length % 2:
                    file.seek(1, os.SEEK_CUR)
                continue
            if kind == b"data":
                held = size - file.tell()
                if length not in (0, 0xFFFFFFFF) and length > held:
                    unit, claimed, present = ("frames", length // block_align, held // block_align) if block_align \
                        else ("bytes", length, held)
                    raise ValueError(f"{name} file {path.name!r} is cut short: its header announces {claimed:,} "
                                     f"{unit} of sound and the file holds {present:,}")
                return
            file.seek(length + length % 2, os.SEEK_CUR)


def _read_with_ffmpeg(
    path: Path, name: str, max_seconds: float, sampling_rate: int | None, reason: str
) -> tuple[np.ndarray, int]:
    """Formats libsndfile does not read (m4a, webm, ...): ffmpeg decodes them to mono float32."""
    # Both libraries name the file by its full path; the server's folders are none of the caller's business.
    reason = reason.replace(str(path), path.name)
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise ValueError(f"{name} file {path.name!r} could not be read ({reason}); install ffmpeg for more formats")
    rate = sampling_rate or 16_000
    command = [
        ffmpeg,
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-t",
        f"{max_seconds + 1:g}",
        "-map",
        "0:a:0",
        "-ac",
        "1",
        "-ar",
        str(rate),
        "-f",
        "f32le",
        "pipe:1",
    ]
    try:
        done = subprocess.run(command, capture_output=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ValueError(f"{name} file {path.name!r} could not be read ({error})") from error
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        reason = (detail[-1] if detail else reason).replace(str(path), path.name)
        if any("matches no streams" in line for line in detail):  # an image, a video without sound...
            # ffmpeg's last line then is a hint about its own command ("add a trailing '?' to the map")
            reason = "it holds no audio stream"
        raise ValueError(f"{name} file {path.name!r} could not be read as audio ({reason})")
    return np.frombuffer(done.stdout, dtype="<f4").astype(np.float32)[:, None], rate

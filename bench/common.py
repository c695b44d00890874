"""Measuring side by side: alternating runs, medians, spreads, ratios; resident memory.

Every benchmark runs the studio and the raw library in one process, alternating
(studio, raw, studio, raw, ...) so that a noisy neighbour slows both alike, and
reports the median of each with its spread (min-max) and the ratio of medians.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


@contextlib.contextmanager
def scratch_folder():
    """A folder holding every temporary file of a bench run, removed with all of it at the end.

    A full run writes gigabytes there: copies of the models (Whisper decoding every token; CTranslate2, GGUF and
    OpenVINO conversions), the studios' outputs, the real preset file. `tempfile` and the peers' subprocesses
    (through TMPDIR) put their files in it.
    """
    before = tempfile.tempdir, os.environ.get("TMPDIR")
    with tempfile.TemporaryDirectory(prefix="studio-bench-") as folder:
        tempfile.tempdir = os.environ["TMPDIR"] = folder
        try:
            yield folder
        finally:
            tempfile.tempdir = before[0]
            if before[1] is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = before[1]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def side_by_side(name: str, studio: Callable, raw: Callable, *, runs: int = 5, warmup: int = 1, note: str = "",
                 raw_times_itself: bool = False) -> dict:
    """Median seconds of `studio()` and `raw()` over alternating runs, and their ratio.

    With `raw_times_itself`, `raw()` returns the seconds it measured (a peer in another process times its own
    work, so the round trip to it is not counted)."""
    for _ in range(warmup):
        studio()
        raw()
    studio_times, raw_times = [], []
    for _ in range(runs):
        studio_times.append(timed(studio))
        raw_times.append(raw() if raw_times_itself else timed(raw))
    return row(name, studio_times, raw_times, note=note)


def row(name: str, studio_times: list[float], raw_times: list[float], *, note: str = "", unit: str = "s") -> dict:
    studio_median, raw_median = statistics.median(studio_times), statistics.median(raw_times)
    return {
        "name": name,
        "studio": studio_median,
        "studio_spread": (min(studio_times), max(studio_times)),
        "raw": raw_median,
        "raw_spread": (min(raw_times), max(raw_times)),
        "ratio": studio_median / raw_median if raw_median else float("nan"),
        "runs": len(studio_times),
        "unit": unit,
        "note": note,
    }


def value_row(name: str, value: float, *, unit: str, note: str = "", target: str = "") -> dict:
    """A single figure (a ratio of memories, a count) rather than a timing pair."""
    return {"name": name, "value": value, "unit": unit, "note": note, "target": target}


def rss_bytes() -> int:
    """Resident memory of this process, from /proc (Linux)."""
    gc.collect()
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


def raw_format(studio, kind: str) -> dict:
    """`from_pretrained` keywords loading a raw model in the number format the studio picked for `kind`.

    So "studio / raw" measures the studio's overhead, not a format change; int8 (language
    models, Whisper, MusicGen) loads float32 here and is quantized by `raw_int8`.
    """
    import torch

    name = studio.dtype(kind)
    return {"dtype": torch.float32 if name == "int8" else getattr(torch, name)}


def raw_int8(studio, model, kind: str = "language_model", parts: tuple[str, ...] = ("",)):
    """`model` with int8 weights where the studio runs `kind` so: torch's dynamic quantization of the
    linear layers in the submodules `parts` (the wrapper's `int8_parts`), as the studio does it."""
    import torch

    if studio.dtype(kind) != "int8":
        return model
    for part in parts:
        torch.ao.quantization.quantize_dynamic(model.get_submodule(part), {torch.nn.Linear}, dtype=torch.qint8,
                                               inplace=True)
    return model


TOKENS_PER_WINDOW = 128  # decoded in every window by the Whisper copy below: end of text is suppressed


def whisper_decoding_every_token(source: str, tokens: int) -> str:
    """A copy of the Whisper folder `source` (weights linked) that never ends a window early and decodes `tokens`."""
    copy = Path(tempfile.mkdtemp()) / "whisper-every-token"
    copy.mkdir()
    for item in Path(source).iterdir():
        if item.name != "generation_config.json":
            (copy / item.name).symlink_to(item.resolve())
    config = json.loads((Path(source) / "generation_config.json").read_text(encoding="utf-8"))
    config["suppress_tokens"] = sorted({*(config.get("suppress_tokens") or []), config["eos_token_id"]})
    config["max_new_tokens"] = tokens
    (copy / "generation_config.json").write_text(json.dumps(config), encoding="utf-8")
    return str(copy)


def transcribe_preset(model: str) -> str:
    """A preset file holding only `model` as the transcription model."""
    preset = Path(tempfile.mkdtemp()) / "transcribe-preset.toml"
    preset.write_text(f'[transcribe]\nmodel = "{model}"\n', encoding="utf-8")
    return str(preset)

"""Tiny random-weight models of every family the studio uses, built offline.

`ensure(name)` returns the folder of the tiny model `name`, building it on first
use. Each family's builder lives in its own module with one function,
`build(folder)`, that writes a folder loadable with the family's usual
`from_pretrained`. Builds are deterministic (fixed seeds, tokenizers trained on
`corpus.py`) and take about a second.

The folder name carries a hash of the builder's source and of the library
versions, so a changed builder or library never reuses a stale model. Builds go
to a temporary folder renamed into place under a file lock, so concurrent
processes (tests, `torchrun` workers) build each model once and never see half a
folder.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import importlib.util
import os
import re
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

# name -> module holding build(folder)
FAMILIES = {
    "sd": "studio.tiny.sd",
    "sd-safety": "studio.tiny.sd_safety",
    "sd3": "studio.tiny.sd3",
    "flux": "studio.tiny.flux",
    "sd-inpaint": "studio.tiny.sd_inpaint",
    "sdxl": "studio.tiny.sdxl",
    "controlnet": "studio.tiny.controlnet",
    "controlnet-sdxl": "studio.tiny.controlnet_sdxl",
    "depth": "studio.tiny.depth",
    "chat": "studio.tiny.chat",
    "gemma2": "studio.tiny.gemma2",
    "gemma3": "studio.tiny.gemma3",
    "whisper": "studio.tiny.whisper",
    "tts": "studio.tiny.tts",
    "tts-uroman": "studio.tiny.tts_uroman",
    "tts_speakers": "studio.tiny.tts_speakers",  # VITS with several speakers (speaker_id)
    "csm": "studio.tiny.csm",  # CSM: speech in the voice of a reference recording
    "musicgen": "studio.tiny.musicgen",
    "musicgen_melody": "studio.tiny.musicgen_melody",
    "upscaler": "studio.tiny.upscaler",
    "lora": "studio.tiny.lora",  # a LoRA for "sd": pytorch_lora_weights.safetensors
}

# builders that call another builder: a change to that one rebuilds them too
BUILDS_ON = {
    "studio.tiny.sd_inpaint": ("studio.tiny.sd",),
    "studio.tiny.sdxl": ("studio.tiny.sd",),
    "studio.tiny.controlnet": ("studio.tiny.sd", "studio.tiny.sdxl"),
    "studio.tiny.controlnet_sdxl": ("studio.tiny.controlnet", "studio.tiny.sd", "studio.tiny.sdxl"),
}

PREFIX = "tiny:"


def cache_root() -> Path:
    """`$STUDIO_CACHE`, else `$XDG_CACHE_HOME/studio`, else `~/.cache/studio`."""
    if os.environ.get("STUDIO_CACHE"):
        return Path(os.environ["STUDIO_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg) / "studio"


def _fingerprint(module_name: str) -> str:
    """A hash of the builder's source, the corpus and the library versions, read without importing them."""
    own = Path(importlib.util.find_spec(module_name).origin).read_text()
    # A builder made from another one (sd_safety from sd) changes when that one does.
    uses = sorted(set(re.findall(r"^from (studio\.tiny\.\w+) import", own, re.M))
                  | set(BUILDS_ON.get(module_name, ())) | {"studio.tiny.corpus"})
    sources = [own] + [Path(importlib.util.find_spec(m).origin).read_text() for m in uses]
    versions = [metadata.version(package) for package in ("torch", "transformers", "diffusers", "tokenizers")]
    return hashlib.sha256("|".join(sources + versions).encode()).hexdigest()[:12]


def ensure(name: str) -> Path:
    """The folder of tiny model `name` ("sd", "chat", ...), built if missing."""
    if name not in FAMILIES:
        raise ValueError(f"unknown tiny model {name!r}; available: {', '.join(FAMILIES)}")
    return build_once(cache_root() / "tiny", name, FAMILIES[name])


def build_once(root: Path, name: str, module_name: str) -> Path:
    """`module_name.build(folder)` into `root/name-<fingerprint>`, unless already there.

    Shared with the benchmarks, which build real-size random-weight models the same way.
    """
    folder = root / f"{name}-{_fingerprint(module_name)}"
    if (folder / ".complete").exists():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / ".complete").exists():  # another process built it meanwhile
            return folder
        from pipelines.loading import quiet_libraries

        quiet_libraries()
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
        try:
            importlib.import_module(module_name).build(staging)
            (staging / ".complete").touch()
            if folder.exists():  # a half-built folder from a killed process
                shutil.rmtree(folder)
            staging.rename(folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def resolve(model: str) -> str:
    """A model reference with `tiny:NAME` replaced by the tiny model's folder."""
    return str(ensure(model[len(PREFIX):])) if model.startswith(PREFIX) else model

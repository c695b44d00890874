"""What a local model folder holds, read from its config, and whether a task can use it.

A folder of another family (a Whisper folder given as a voice, a SpeechT5 or
Bark folder) fails deep inside `from_pretrained`, or worse loads with random
weights. Its `config.json` (`model_type`, `architectures`) or `model_index.json`
(`_class_name`) says what it is before any weight is read, so the studio names
what the folder holds and what the task needs instead of blaming the download.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import ModelLoadError


@dataclass(frozen=True)
class Needs:
    label: str  # what the task loads, for the message
    model_types: frozenset[str] = frozenset()  # transformers `model_type`s it reads; empty: a diffusers pipeline


# The `what` each wrapper passes to `loading.load` -> the kind of folder it loads.
NEEDS = {
    "image generation": Needs("a diffusers pipeline folder (with model_index.json) of an image family such as Stable Diffusion, SDXL, SD3 or FLUX.1"),
    "text to speech": Needs("a VITS voice (MMS-TTS, e.g. facebook/mms-tts-eng)", frozenset({"vits"})),
    "voice cloning": Needs("a CSM model (e.g. sesame/csm-1b)", frozenset({"csm"})),
    "speech to text": Needs("a Whisper model (e.g. openai/whisper-base)", frozenset({"whisper"})),
    "music generation": Needs("a MusicGen model (e.g. facebook/musicgen-small)", frozenset({"musicgen"})),
    "upscaling": Needs("a Swin2SR super-resolution model (e.g. caidas/swin2SR-classical-sr-x2-64)", frozenset({"swin2sr"})),
}

# Families a creator may well have on disk, and what they do, for the message.
KNOWN = {
    "whisper": "speech to text",
    "vits": "text to speech",
    "csm": "text to speech in the voice of a recording (voice cloning)",
    "musicgen": "music generation",
    "musicgen_melody": "music generation from a melody",
    "swin2sr": "upscaling",
    "speecht5": "text to speech with speaker embeddings (SpeechT5), a family the studio does not run",
    "bark": "text to speech (Bark), a family the studio does not run",
    "wav2vec2": "speech recognition (wav2vec 2.0), a family the studio does not run",
    "clip": "image and text embeddings (CLIP), one part of an image pipeline",
    "t5": "text encoding and translation (T5)",
}


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def kind(folder: Path) -> tuple[str, str] | None:
    """("pipeline", class name) for a diffusers pipeline, ("model_type", type) for a transformers model, else None."""
    index = _read(folder / "model_index.json")
    if index is not None:
        return "pipeline", str(index.get("_class_name", "a diffusers pipeline"))
    config = _read(folder / "config.json")
    if config is None:
        return None
    if "_class_name" in config:  # one diffusers component (a UNet, a VAE) saved on its own
        return "component", str(config["_class_name"])
    if isinstance(config.get("model_type"), str):
        return "model_type", config["model_type"]
    return None


def describe(folder: Path) -> str | None:
    """What the folder holds, in words ("a whisper model (WhisperForConditionalGeneration): speech to text")."""
    found = kind(folder)
    if found is None:
        return None
    what, name = found
    if what == "pipeline":
        return f"a diffusers pipeline ({name})"
    if what == "component":
        return f"one part of a diffusers pipeline ({name}), not a whole pipeline"
    config = _read(folder / "config.json") or {}
    architectures = config.get("architectures") or []
    label = f"a {name} model" + (f" ({architectures[0]})" if architectures and isinstance(architectures[0], str) else "")
    return f"{label}, made for {KNOWN[name]}" if name in KNOWN else label


def _accepts(needs: Needs, what: str, found: tuple[str, str]) -> bool:
    kind_of, name = found
    if what == "image generation":
        return kind_of == "pipeline"
    if kind_of != "model_type":
        return False
    if what == "text generation":
        # Any causal LM transformers knows, but not the studio's other families that have a
        # decoder-only class (Whisper, MusicGen): they would load and babble.
        from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

        return name in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and name not in KNOWN
    return name in needs.model_types


def needs(what: str) -> Needs | None:
    if what == "text generation":
        return Needs("a causal language model (Qwen2.5, SmolLM2, Llama, Gemma, Phi...) with its tokenizer")
    return NEEDS.get(what)


def check_kind(folder: Path, model: str, what: str) -> None:
    """Refuse a folder whose config names a family `what` cannot use, saying what it holds."""
    wanted = needs(what)
    found = kind(folder)
    if wanted is None or found is None or _accepts(wanted, what, found):
        return
    raise ModelLoadError(
        f"model folder {model!r} holds {describe(folder)}; {what} needs {wanted.label}. "
        "Point the preset (or model=) at such a model."
    )

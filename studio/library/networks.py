"""LoRAs and embeddings chosen for one image request: names resolved in the library, recipe written.

A1111's "extra networks": `<lora:name:weight>` tags in the prompt and the
`loras=` argument name LoRA files of the models folder (`Lora/`) or a hub/tiny
LoRA; textual-inversion embeddings (`embeddings/`) are used by writing their
name in the prompt or the negative prompt. Tags are taken out before anything
else reads the prompt (prompt weighting, the text encoder); the recipe keeps
the prompt as written.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.lora import Lora, parse_choice, take_tags

LORA_FILE = "pytorch_lora_weights.safetensors"  # the file of a LoRA kept as a diffusers folder
LORA_HASH = 12  # A1111's `Lora hashes` use 12 hex digits


@dataclass
class Networks:
    prompt: str  # the prompt to encode, tags taken out
    loras: list[Lora] = field(default_factory=list)
    given: list[Lora] = field(default_factory=list)  # the ones of the `loras=` argument
    embeddings: dict[str, str] = field(default_factory=dict)  # token -> file

    def record(self, params: dict, prompt: str) -> None:
        """Recipe: the prompt as written, the argument's LoRAs, every LoRA's hash for the infotext."""
        if not (self.loras or self.embeddings):
            return
        params["prompt"] = prompt
        if self.given:
            params["loras"] = [{"name": lora.name, "weight": lora.weight} for lora in self.given]
        if self.loras:
            params["lora_hashes"] = {lora.name.translate(str.maketrans("", "", ":,")): lora.hash for lora in self.loras}
        if self.embeddings:
            params["embeddings"] = sorted(self.embeddings)


def choose(library, prompt, negative_prompt, loras) -> Networks:
    """The LoRAs of `prompt`'s tags and of `loras`, and the embeddings the prompts name."""
    text, tags = take_tags(prompt)
    given = [_lora(library, name, weight) for name, weight in parse_choice(loras)]
    chosen = Networks(text, [*given, *(_lora(library, name, weight) for name, weight in tags)], given)
    words = set(re.findall(r"[\w.-]+", f"{text} {negative_prompt or ''}"))
    for entry in library.list("embeddings"):
        token = Path(entry.name).name.removesuffix(".safetensors")
        if token in words:
            chosen.embeddings[token] = library.resolve("embeddings", entry.name).load
    return chosen


def _lora(library, name: str, weight: float) -> Lora:
    choice = library.resolve("lora", name)
    path = Path(choice.load)
    if path.is_dir():
        path = path / LORA_FILE
    if not choice.local or not path.is_file():
        known = ", ".join(library.names("lora")) or "none"
        raise ValueError(f"LoRA {name!r} is not in the models library (its Lora/ folder); available: {known}")
    if path.suffix != ".safetensors":
        raise ValueError(f"LoRA {name!r} is a pickle file, which can run code when loaded; convert it to .safetensors")
    return Lora(name=name, path=str(path), weight=weight, hash=lora_hash(library, path))


def lora_hash(library, path: Path) -> str:
    """A1111's LoRA hash: the file's `sshs_model_hash`, else the sha256 of its tensor data (after the header)."""
    with open(path, "rb") as file:
        size = struct.unpack("<Q", file.read(8))[0]
        header = json.loads(file.read(size) or b"{}")
    stored = (header.get("__metadata__") or {}).get("sshs_model_hash")
    if stored:
        return str(stored)[:LORA_HASH]
    return library.sha256(path, skip=8 + size)[:LORA_HASH]

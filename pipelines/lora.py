"""LoRA for the image pipelines: AUTOMATIC1111's `<lora:name:weight>` tags, and applying LoRAs for one call.

A prompt's tags are taken out before it is encoded (`take_tags`); the caller
resolves the names to files. `applied(pipe, loras)` loads each file once as a
peft adapter of the pipeline (diffusers' `load_lora_weights`, which also reads
kohya/A1111 files), activates the asked ones with their weights for the block,
then disables every adapter again: with adapters disabled peft runs only the
base layers, so the next call without a LoRA gives the pixels of a pipeline
that never had one. The caller holds the model's run lock around the block, so
two calls with different LoRAs never share a forward pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

TAG = re.compile(r"<lora:([^:<>]+)(?::([^:<>]*))?(?::[^<>]*)?>", re.IGNORECASE)
MAX_WEIGHT = 10.0
MAX_LORAS = 8  # adapters kept loaded per pipeline; older ones are deleted past it


@dataclass(frozen=True)
class Lora:
    name: str  # as the user named it (the recipe's and the infotext's)
    path: str  # the file to load
    weight: float = 1.0
    hash: str = ""  # A1111's short hash, for `Lora hashes`

    @property
    def adapter(self) -> str:
        """The adapter's name inside the pipeline: one per file content."""
        return f"lora_{self.hash or abs(hash(self.path))}"


def take_tags(prompt: str) -> tuple[str, list[tuple[str, float]]]:
    """`prompt` without its `<lora:name:weight>` tags, and the (name, weight) pairs in order (weight 1 if left out)."""
    found: list[tuple[str, float]] = []

    def take(match: re.Match) -> str:
        name, weight = match.group(1).strip(), (match.group(2) or "").strip()
        found.append((name, check_weight(f"<lora:{name}> weight", weight or 1.0)))
        return ""

    text = TAG.sub(take, prompt) if isinstance(prompt, str) else prompt
    if found:
        text = re.sub(r"[ \t]{2,}", " ", text).strip().strip(",").strip()
    return text, found


def check_weight(field: str, value) -> float:
    try:
        weight = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field} must be a number from {-MAX_WEIGHT:g} to {MAX_WEIGHT:g}, got {value!r}") from None
    if not -MAX_WEIGHT <= weight <= MAX_WEIGHT or weight != weight:
        raise ValueError(f"{field} must be a number from {-MAX_WEIGHT:g} to {MAX_WEIGHT:g}, got {value!r}")
    return weight


def parse_choice(value) -> list[tuple[str, float]]:
    """LoRAs as given to the API: "name:0.8, other", a {name: weight} dict or [(name, weight) | name, ...]."""
    if value in (None, "", [], {}):
        return []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, str):
        items = [tuple(part.rsplit(":", 1)) if ":" in part else (part, 1.0) for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        items = [(item, 1.0) if isinstance(item, str) else tuple(item) for item in value]
    else:
        raise ValueError(f"loras must be 'name:weight, ...', a {{name: weight}} dict or a list, got {type(value).__name__}")
    pairs = []
    for item in items:
        if len(item) != 2 or not isinstance(item[0], str) or not item[0].strip():
            raise ValueError(f"loras must name each LoRA with an optional weight ('name:0.8'), got {item!r}")
        pairs.append((item[0].strip(), check_weight(f"lora {item[0].strip()!r} weight", item[1])))
    return pairs


def _loaded(pipe) -> list[str]:
    return list(dict.fromkeys(name for names in pipe.get_list_adapters().values() for name in names))


@contextmanager
def applied(pipe, loras: list[Lora]) -> Iterator[None]:
    """`pipe` with `loras` active at their weights for the block, and none after it."""
    if not loras:
        yield
        return
    from pipelines.errors import ModelLoadError

    loaded = _loaded(pipe)
    for lora in loras:
        if lora.adapter not in loaded:
            try:
                pipe.load_lora_weights(lora.path, adapter_name=lora.adapter)
            except Exception as error:  # a LoRA of another family, a damaged file: name it
                reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
                raise ModelLoadError(f"LoRA {lora.name!r} could not be applied to this model: {reason}") from error
            loaded.append(lora.adapter)
    for stale in loaded[: max(0, len(loaded) - MAX_LORAS)]:
        if stale not in {lora.adapter for lora in loras}:
            pipe.delete_adapters(stale)
    weights: dict[str, float] = {}
    for lora in loras:  # the same file twice adds its weights, as A1111 does
        weights[lora.adapter] = weights.get(lora.adapter, 0.0) + lora.weight
    try:
        pipe.enable_lora()
        pipe.set_adapters(list(weights), list(weights.values()))
        yield
    finally:
        pipe.disable_lora()

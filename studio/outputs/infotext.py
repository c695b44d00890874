"""The AUTOMATIC1111 "parameters" text: the image recipe other tools already read.

Layout: the prompt (one or more lines), an optional `Negative prompt: ...` line,
then one line of `Key: value` pairs separated by commas, values with commas
quoted as JSON strings:

    a red fox in the snow
    Negative prompt: blurry
    Steps: 2, Sampler: Euler, CFG scale: 7.5, Seed: 3, Size: 64x64, Model: sd-turbo
"""

from __future__ import annotations

import json
import re
from pathlib import PurePath
from typing import Any

# recipe key -> A1111 key, in A1111's order
FIELDS = [
    ("steps", "Steps"),
    ("scheduler", "Sampler"),
    ("guidance", "CFG scale"),
    ("seed", "Seed"),
    ("size", "Size"),
    ("model_hash", "Model hash"),
    ("model", "Model"),
    ("strength", "Denoising strength"),
    ("batch_size", "Batch size"),
    ("lora_hashes", "Lora hashes"),
    ("mask_blur", "Mask blur"),
    ("inpaint_area", "Inpaint area"),
    ("padding", "Masked area padding"),
    ("mask_mode", "Mask mode"),
    ("hires_scale", "Hires upscale"),
    ("hires_steps", "Hires steps"),
    ("hires_upscaler", "Hires upscaler"),
]
# recipe key -> {recipe value: A1111's word for it}
VALUE_LABELS = {
    "inpaint_area": {"whole": "Whole picture", "masked": "Only masked"},
    "mask_mode": {"masked": "Inpaint masked", "unmasked": "Inpaint not masked"},
    "hires_upscaler": {"latent": "Latent", "lanczos": "Lanczos", "upscaler": "Upscaler"},
}
HIRES_KEYS = ("scale", "steps", "upscaler")
# Keys and the blanks around them are bounded so that each try of the pattern reads a
# bounded stretch: a long line with no ":" costs linear time, not quadratic.
PAIR = re.compile(r'\s{0,16}([\w][\w \-/]{0,63}):\s{0,16}("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')
MAX_CHARS = 32_000  # two prompts at their limit and every setting, with room to spare


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False) if any(c in value for c in ',:"\n') else value


def format_infotext(recipe: dict[str, Any]) -> str:
    values = dict(recipe)
    if "width" in values and "height" in values:
        values["size"] = f"{values['width']}x{values['height']}"
    if values.get("model"):  # A1111 names a checkpoint by its file name without the extension
        values["model"] = PurePath(str(values["model"])).name.removesuffix(".safetensors")
    if isinstance(values.get("lora_hashes"), dict):  # A1111's `Lora hashes: "name: hash, ..."`
        values["lora_hashes"] = ", ".join(f"{name}: {digest}" for name, digest in values["lora_hashes"].items())
    if values.get("batch_size") == 1:
        values.pop("batch_size")  # A1111 writes the batch size only for batches
    if isinstance(values.get("hires"), dict):  # A1111 writes the hires fix's strength as the denoising strength
        hires = values["hires"]
        values.update({f"hires_{key}": hires.get(key) for key in HIRES_KEYS}, strength=hires.get("strength"))
        if not values["hires_steps"]:
            values.pop("hires_steps")  # 0: the first pass's steps, which A1111 leaves out
    if values.get("inpaint_area") != "masked":
        values.pop("padding", None)  # A1111 writes the padding only for "only masked"
    for key, words in VALUE_LABELS.items():
        if key in values:
            values[key] = words.get(values[key], values[key])
    pairs = [f"{label}: {_quote(str(values[key]))}" for key, label in FIELDS if values.get(key) not in (None, "")]
    for index, entry in enumerate(values.get("control") or []):  # A1111's ControlNet extension writes these
        from pipelines.control import infotext

        pairs.append(f"ControlNet {index}: {json.dumps(infotext(entry), ensure_ascii=False)}")
    pairs.append(f"Version: {_quote('studio ' + str(recipe.get('studio_version', '')).strip())}")
    prompt = str(recipe.get("prompt", ""))
    # LoRAs chosen beside the prompt become its tags, so A1111 applies them too.
    tags = [f"<lora:{lora['name']}:{lora['weight']:g}>" for lora in recipe.get("loras") or []]
    lines = [" ".join([prompt, *tags]) if tags else prompt]
    if recipe.get("negative_prompt"):
        lines.append(f"Negative prompt: {recipe['negative_prompt']}")
    lines.append(", ".join(pairs))
    return "\n".join(lines)


def parse_infotext(text: str) -> dict[str, Any]:
    """An A1111 parameters text -> a studio recipe (keys as in the Python API)."""
    if len(text) > MAX_CHARS:
        raise ValueError(f"the image's parameters text is {len(text):,} characters; the limit is {MAX_CHARS:,}")
    lines = text.strip().split("\n")
    settings = lines.pop() if lines and len(PAIR.findall(lines[-1])) >= 3 else ""
    prompt, negative, in_negative = [], [], False
    for line in lines:
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:"):].strip()
        (negative if in_negative else prompt).append(line)
    raw: dict[str, str] = {}
    for key, value in PAIR.findall(settings):
        if value.startswith('"') and value.endswith('"'):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                pass
        raw[key.strip()] = value.strip()
    recipe: dict[str, Any] = {"prompt": "\n".join(prompt).strip(), "negative_prompt": "\n".join(negative).strip()}
    labels = {label: key for key, label in FIELDS}
    for label, value in raw.items():
        key = labels.get(label)
        if key == "size":
            width, _, height = value.partition("x")
            recipe["width"], recipe["height"] = _number(width), _number(height)
        elif key == "lora_hashes":  # "name: hash, name2: hash2", as in a studio recipe
            recipe[key] = dict(pair.split(": ", 1) for pair in value.split(", ") if ": " in pair)
        elif key in VALUE_LABELS:
            recipe[key] = {word: name for name, word in VALUE_LABELS[key].items()}.get(value, value)
        elif key is not None:
            recipe[key] = value if key == "model_hash" else _number(value)
        else:
            recipe.setdefault("extra", {})[label] = value
    if "hires_scale" in recipe:
        recipe["hires"] = {key: recipe.pop(f"hires_{key}", 0) for key in HIRES_KEYS}
        if "strength" in recipe:
            recipe["hires"]["strength"] = recipe.pop("strength")
    recipe["task"] = "inpaint" if "mask_blur" in recipe else "image_to_image" if "strength" in recipe else "text_to_image"
    return recipe


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text

"""Images as PNG files carrying their recipe.

Two text chunks: `parameters`, the AUTOMATIC1111 infotext other tools read, and
`recipe`, the full JSON recipe the studio reads back. Each image of a batch is
its own file with its own seed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

from pipelines.results import ImageResult
from studio import __version__
from studio.outputs import jsontext, slug, write_files
from studio.outputs.infotext import format_infotext, parse_infotext

RECIPE_CHUNK = "recipe"


def recipes(result: ImageResult) -> list[dict[str, Any]]:
    """One recipe per image: the result's params with that image's seed."""
    return [{**result.params, "seed": seed, "studio_version": __version__} for seed in result.seeds]


def save(result: ImageResult, folder: Path) -> list[Path]:
    paths, mask = [], None
    if getattr(result, "mask", None) is not None:
        # The mask an inpaint redrew, beside the images; each image's recipe names it.
        stem = "-".join(str(part) for part in (result.params.get("task", "image"), "mask") if part)
        mask = write_files(folder, stem, {".png": lambda file: result.mask.save(file, "PNG")})[0]
    for image, recipe in zip(result.images, recipes(result), strict=True):
        if mask is not None:
            recipe["mask"] = mask.name
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", format_infotext(recipe))
        info.add_itxt(RECIPE_CHUNK, json.dumps(recipe, ensure_ascii=False))
        parts = [recipe.get("task", "image"), recipe.get("seed"), recipe.get("prompt") and slug(recipe["prompt"])]
        label = "-".join(str(part) for part in parts if part not in (None, ""))
        paths += write_files(folder, label, {".png": lambda file, image=image, info=info: image.save(file, "PNG", pnginfo=info)})
    return paths + ([mask] if mask is not None else [])  # the images first: what a gallery shows


def read(path: Path) -> dict[str, Any] | None:
    if path.suffix.lower() != ".png":
        return None
    try:
        with Image.open(path) as image:
            chunks = dict(getattr(image, "text", {}) or {})
    except OSError as error:
        raise ValueError(f"{path.name!r} could not be read as a PNG ({error})") from error
    if RECIPE_CHUNK in chunks:
        try:
            return jsontext.loads(chunks[RECIPE_CHUNK], f"the recipe in {path.name!r}")
        except jsontext.OverLimit:
            raise
        except ValueError:
            pass  # damaged JSON: fall back to the infotext
    if "parameters" in chunks:
        return parse_infotext(chunks["parameters"])
    return None

"""Hires fix: generate at the base size, upscale, then redraw at a denoising strength, in one operation.

As AUTOMATIC1111 does it: the first pass draws the composition at the size the
model knows; the upscale is done in latent space ("latent", bilinear, as A1111's
"Latent"), with Lanczos on the decoded image ("lanczos"), or with the studio's
upscaling model ("upscaler", given by the caller); the second pass is
image-to-image over the same weights (`from_pipe`), `steps` steps at `strength`
(steps 0 = the first pass's steps), from the same seed.

The recipe keeps the base `width` x `height` and `hires={...}`; the infotext
carries A1111's `Hires upscale`, `Hires steps`, `Hires upscaler` and
`Denoising strength`.

Its settings are declared in `SETTINGS` (the keys of `hires={...}`); an error
names them as "hires scale", "hires steps", ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image

from pipelines.image import MAX_SIZE, MAX_STEPS, SIZE_STEP
from pipelines.results import ImageResult
from pipelines.settings import Setting, Settings

UPSCALERS = ("latent", "lanczos", "upscaler")
UPSCALER_LABELS = {"latent": "Latent", "lanczos": "Lanczos", "upscaler": "Upscaler"}  # A1111's names
MAX_SCALE = 4.0
SETTINGS = Settings(
    Setting("scale", float, 2.0, low=1.0, high=MAX_SCALE, step=0.05, low_open=True, help=("Upscale by", "Agrandir de")),
    Setting("steps", int, 0, low=0, high=MAX_STEPS, step=1,
            help=("Hires steps (0 = same as the first pass)", "Étapes hires (0 = comme la première passe)")),
    Setting("strength", float, 0.7, low=0.0, high=1.0, step=0.05, low_open=True,
            help=("Denoising strength", "Force de débruitage")),
    Setting("upscaler", str, "latent", choices=UPSCALERS, help=("Upscaler", "Agrandisseur")),
)


def check(hires: Any, width: int, height: int) -> dict[str, Any] | None:
    """The hires settings, complete and checked, or None when `hires` is None or empty."""
    if hires is None or hires == {}:
        return None
    if not isinstance(hires, dict):
        raise ValueError(f"hires must be a dict like {{\"scale\": 2, \"strength\": 0.5}}, got {type(hires).__name__}")
    unknown = sorted(set(hires) - set(SETTINGS.names()))
    if unknown:
        raise ValueError(f"hires has an unknown key {unknown[0]!r}; allowed: {', '.join(SETTINGS.names())}")
    given = {k: v for k, v in hires.items() if v is not None}
    settings = {s.name: s.but(name=f"hires {s.name}").check(given.get(s.name, s.default)) for s in SETTINGS}
    big = target_size(width, height, settings["scale"])
    if max(big) > MAX_SIZE:
        raise ValueError(f"hires scale {settings['scale']:g} makes {big[0]}x{big[1]}; each side must stay at most {MAX_SIZE}")
    return settings


def target_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """The upscaled size, each side rounded to a multiple of 8 (A1111 rounds the same way)."""
    return tuple(int(side * scale) // SIZE_STEP * SIZE_STEP for side in (width, height))


def run(t2i, params: dict, hires: dict, callback, upscale_image: Callable[[Image.Image], Image.Image] | None, *,
        first_extra: dict | None = None, redraw: tuple | None = None) -> ImageResult:
    """Both passes of a hires fix; `t2i` is a TextToImage, `params` its checked settings (and its recipe).

    With ControlNet, `t2i` runs the guided first pass with `first_extra` (its control keywords) and
    `redraw` is (the guided ImageToImage, its control keywords at the upscaled size) for the second.
    """
    import torch

    from pipelines.image import ImageToImage

    width, height = params["width"], params["height"]
    big_w, big_h = target_size(width, height, hires["scale"])
    second_steps = hires["steps"] or params["steps"]
    if int(second_steps * hires["strength"]) < 1:
        raise ValueError(f"hires strength {hires['strength']:g} with {second_steps} steps leaves no denoising step; "
                         "raise hires strength or hires steps")
    if hires["upscaler"] == "upscaler" and upscale_image is None:
        raise ValueError("hires upscaler 'upscaler' needs an upscaling model; use it through the Studio, or choose latent or lanczos")
    seed = params["seed"]
    seeds = [seed + i for i in range(params["batch_size"])]
    first_total = params["steps"]
    second_total = int(second_steps * hires["strength"])

    total = first_total + second_total * len(seeds)  # the second pass runs image by image

    def shifted(offset: int):  # one step count across both passes, for progress and previews
        if callback is None:
            return None
        return lambda step, _, preview: callback(offset + step, total, preview)

    latent = hires["upscaler"] == "latent"
    call = {"width": width, "height": height, **(first_extra or {}), **({"output_type": "latent"} if latent else {})}
    first, recipe, previews = t2i._generate([params["prompt"]], seeds, params, call, shifted(0))
    if latent:
        latents = torch.cat([torch.as_tensor(x)[None] if torch.as_tensor(x).ndim == 3 else torch.as_tensor(x) for x in first])
        upscaled = torch.nn.functional.interpolate(latents, size=(big_h // t2i.pipe.vae_scale_factor,
                                                                   big_w // t2i.pipe.vae_scale_factor), mode="bilinear")
        sources = list(upscaled.split(1))
    else:
        grow = upscale_image if hires["upscaler"] == "upscaler" else (lambda image: image)
        sources = [_resize(grow(image), big_w, big_h) for image in first]
    img2img, second_extra = redraw or (ImageToImage.from_text_to_image(t2i), {})
    second_params = {**params, "steps": second_steps, "strength": hires["strength"], "width": big_w, "height": big_h}
    images = []
    for index, (source, image_seed) in enumerate(zip(sources, seeds, strict=True)):
        out, _, more = img2img._generate([params["prompt"]], [image_seed], second_params,
                                         {"image": source, "strength": hires["strength"], **second_extra},
                                         shifted(first_total + index * second_total))
        images += out
        previews += more if image_seed == seeds[0] else []
    recipe["hires"] = dict(hires)
    return ImageResult(images=images, seeds=seeds, params={**recipe, "seed": seed}, previews=previews)


def _resize(image: Image.Image, width: int, height: int) -> Image.Image:
    return image if image.size == (width, height) else image.resize((width, height), Image.LANCZOS)

"""Inpainting and outpainting over diffusers' inpaint pipeline.

Works with inpainting checkpoints (a 9-channel UNet that also sees the mask and
the masked image) and with ordinary ones (diffusers puts the original's latents
back outside the mask at every step). Either way the pixels outside the
(blurred) mask are the input's exactly: the VAE's round trip changes every
pixel a little, so the original is blended back over the decoded image.

Terms follow AUTOMATIC1111: mask blur, inpaint area "whole" picture or "only
masked" (redraw a crop around the mask, `padding` pixels wider, at the full
generation size, then paste it back), mask mode "masked" (redraw the white
part) or "unmasked" (redraw the black part).

The settings they share with image-to-image come from `pipelines.image`
(`**settings: Unpack[SizedSettings]`, see its docstring); their own are
declared here, in `INPAINT` and `OUTPAINT`.

A call goes: 1. check inputs, 2. prepare the mask (invert, blur) and the
generation size, 3. run diffusers through the shared `_generate`, 4. resize back
to the input's size and blend the original in outside the mask.
"""

from __future__ import annotations

from typing import Unpack

import numpy as np
from PIL import Image, ImageFilter

from pipelines.image import (
    SETTINGS,
    DiffusionSettings,
    ImageToImage,
    SizedSettings,
    StepCallback,
    TextToImage,
    _check_callback,
    _Diffusion,
    check_steps_left,
    fit_size,
)
from pipelines.image_io import MAX_SIDE, load_image
from pipelines.results import ImageResult
from pipelines.settings import Setting, Settings, checked

INPAINT_AREAS = ("whole", "masked")
MASK_MODES = ("masked", "unmasked")
FILLS = ("edge", "mirror", "noise", "gray")
MAX_BLUR = 64
MAX_PADDING = 512
MAX_EXTEND = 1024  # pixels added on one side by outpaint
# A1111's infotext words for the settings above.
AREA_LABELS = {"whole": "Whole picture", "masked": "Only masked"}
MODE_LABELS = {"masked": "Inpaint masked", "unmasked": "Inpaint not masked"}

MASK_BLUR = Setting("mask_blur", int, 4, low=0, high=MAX_BLUR, step=1, unit="px",
                    help=("Mask blur (pixels)", "Flou du masque (pixels)"))
STRENGTH = SETTINGS["strength"].but(help=("Denoising strength", "Force de débruitage"))
# The inpaint call's own settings after the negative prompt, then those it shares with image-to-image.
INPAINT = Settings(
    SETTINGS["negative_prompt"],
    MASK_BLUR,
    Setting("inpaint_area", str, "whole", choices=INPAINT_AREAS, help=("Inpaint area", "Zone redessinée")),
    Setting("padding", int, 32, low=0, high=MAX_PADDING, step=4, unit="px",
            help=("Only masked: padding (pixels)", "Zone masquée seule : marge (pixels)")),
    Setting("mask_mode", str, "masked", choices=MASK_MODES, help=("Redraw", "Redessiner")),
    STRENGTH.but(default=0.75),
) + SETTINGS.with_help(width=("Width (0 = the image's own size)", "Largeur (0 = taille de l'image)"),
                       height=("Height (0 = the image's own size)", "Hauteur (0 = taille de l'image)"))
ID = INPAINT.defaults


def _side(name: str, english: str, french: str) -> Setting:
    return Setting(name, int, 0, low=0, high=MAX_EXTEND, step=8, unit="px", help=(f"{english} (pixels)", f"{french} (pixels)"))


OUTPAINT = Settings(
    SETTINGS["negative_prompt"],
    _side("left", "Left", "Gauche"), _side("right", "Right", "Droite"), _side("up", "Up", "Haut"),
    _side("down", "Down", "Bas"),
    Setting("fill", str, "edge", choices=FILLS,
            help=("Fill of the new parts before the redraw", "Remplissage des parties neuves avant de redessiner")),
    MASK_BLUR.but(default=8),
    STRENGTH.but(default=0.8),
) + SETTINGS.only(n for n in SETTINGS.names() if n not in ("width", "height"))
OD = OUTPAINT.defaults


def load_mask(value, size: tuple[int, int]) -> Image.Image:
    """A greyscale mask of `size`: white (255) is redrawn, black kept, grey partly."""
    mask = load_image(value, "mask").convert("L")
    if mask.size != tuple(size):
        raise ValueError(f"mask is {mask.size[0]}x{mask.size[1]}; it must be the image's size, {size[0]}x{size[1]}")
    return mask


class Inpaint(_Diffusion):
    """Inpainting and outpainting with an inpainting checkpoint (9-channel UNet) or an ordinary one (latent masking)."""

    task = "inpaint"
    auto_pipeline = "AutoPipelineForInpainting"

    @classmethod
    def from_text_to_image(cls, text_to_image: TextToImage) -> Inpaint:
        """The inpaint pipeline over the text-to-image weights (no second copy in memory)."""
        from diffusers import AutoPipelineForInpainting

        pipe = AutoPipelineForInpainting.from_pipe(text_to_image.pipe)
        pipe.set_progress_bar_config(**getattr(text_to_image.pipe, "_progress_bar_config", {}))
        inpaint = cls(pipe, text_to_image.model, text_to_image.preview_decoder)
        inpaint._default_scheduler = text_to_image._default_scheduler
        return inpaint

    @property
    def inpainting_checkpoint(self) -> bool:
        return int(self.pipe.unet.config.in_channels) == 9

    @checked(INPAINT)
    def __call__(
        self,
        image,
        mask,
        prompt: str,
        *,
        mask_blur: int = ID.mask_blur,
        inpaint_area: str = ID.inpaint_area,
        padding: int = ID.padding,
        mask_mode: str = ID.mask_mode,
        strength: float = ID.strength,
        callback: StepCallback | None = None,
        **settings: Unpack[SizedSettings],
    ) -> ImageResult:
        """Redraw the white part of `mask` (the black part with mask_mode="unmasked") after `prompt`.

        The result has the input's size. Width and height are the size the model draws at:
        by default the image's own (fitted to a multiple of 8), or with inpaint_area="masked"
        the model's native size, for the crop around the mask. The settings are declared in `INPAINT`.
        """
        # 1. check: the declared settings on the way in (@checked), then the image and its mask
        source = load_image(image)
        painted = load_mask(mask, source.size)
        redraw = painted if mask_mode == "masked" else Image.eval(painted, lambda v: 255 - v)
        if redraw.getextrema()[1] == 0:
            what = "white" if mask_mode == "masked" else "black"
            raise ValueError(f"mask has no {what} pixels, so there is nothing to redraw; paint the part to redraw")
        size = (self.native_size,) * 2 if inpaint_area == "masked" else fit_size(*source.size)
        params = self._prepare(prompt, {"inpaint_area": inpaint_area, "mask_mode": mask_mode, "padding": padding,
                                        "mask_blur": mask_blur, "strength": strength, **settings}, size)
        return self._inpaint(source, redraw, painted, params, callback)

    @checked(OUTPAINT)
    def outpaint(
        self,
        image,
        prompt: str,
        *,
        left: int = OD.left,
        right: int = OD.right,
        up: int = OD.up,
        down: int = OD.down,
        fill: str = OD.fill,
        mask_blur: int = OD.mask_blur,
        strength: float = OD.strength,
        callback: StepCallback | None = None,
        **settings: Unpack[DiffusionSettings],
    ) -> ImageResult:
        """Extend the canvas by `left`, `right`, `up`, `down` pixels and draw the new parts after `prompt`.

        The new parts start as `fill` (edge: the border pixels stretched out, mirror, noise, gray)
        before the redraw; the original pixels stay in place, untouched. The settings are declared in `OUTPAINT`.
        """
        # 1. check: the declared settings on the way in (@checked), then the canvas's size
        source = load_image(image)
        sides = dict(left=left, right=right, up=up, down=down)
        if not any(sides.values()):
            raise ValueError("left, right, up and down are all 0, so there is nothing to add; extend at least one side")
        width, height = source.size[0] + left + right, source.size[1] + up + down
        if max(width, height) > MAX_SIDE:
            raise ValueError(f"outpainted size {width}x{height} is too large; each side must stay at most {MAX_SIDE} pixels")
        # 2. prepare: the bigger canvas; the blur softens the seam inside the new parts only: the original is never redrawn
        canvas, redraw = _extend(source, sides, fill, settings["seed"])
        params = self._prepare(prompt, {**sides, "fill": fill, "mask_blur": mask_blur, "strength": strength,
                                        "width": None, "height": None, **settings}, fit_size(*canvas.size))
        result = self._inpaint(canvas, redraw, redraw, params, callback, keep=redraw)
        result.params["task"] = "outpaint"
        return result

    def _inpaint(self, source: Image.Image, redraw: Image.Image, painted: Image.Image, params: dict, callback,
                 keep: Image.Image | None = None) -> ImageResult:
        check_steps_left(params["steps"], params["strength"])
        _check_callback(callback)
        mask_blur, width, height = params["mask_blur"], params["width"], params["height"]
        blurred = redraw.filter(ImageFilter.GaussianBlur(mask_blur)) if mask_blur else redraw
        if keep is not None:  # outpaint: zero over the original, so its pixels stay exact
            blurred = Image.fromarray(np.minimum(np.asarray(blurred), np.asarray(keep)))
        if params.get("inpaint_area") == "masked":
            # diffusers crops around the mask (`padding` wider), draws the crop at width x height, pastes it back.
            call = {"image": source, "mask_image": blurred, "padding_mask_crop": params["padding"]}
        else:
            call = {"image": source.resize((width, height), Image.LANCZOS) if source.size != (width, height) else source,
                    "mask_image": blurred.resize((width, height), Image.LANCZOS) if blurred.size != (width, height) else blurred}
        call.update(strength=params["strength"], width=width, height=height)
        seed = params["seed"]
        seeds = [seed + i for i in range(params["batch_size"])]
        images, recipe, previews = self._generate([params["prompt"]], seeds, params, call, callback)
        images = [blend(source, image, blurred) for image in images]
        recipe["inpainting_checkpoint"] = self.inpainting_checkpoint
        return ImageResult(images=images, seeds=seeds, params={**recipe, "seed": seed}, previews=previews, mask=painted)

    def _denoising_steps(self, params: dict) -> int:
        return ImageToImage._denoising_steps(self, params)


def blend(original: Image.Image, generated: Image.Image, mask: Image.Image) -> Image.Image:
    """`generated` where `mask` is white, `original` where it is black, mixed in between.

    Where the mask is 0 the result is the original's pixels exactly.
    """
    if generated.size != original.size:
        generated = generated.resize(original.size, Image.LANCZOS)
    weight = np.asarray(mask, dtype=np.float32)[..., None] / 255.0
    mixed = np.asarray(original, dtype=np.float32) * (1 - weight) + np.asarray(generated.convert("RGB"), dtype=np.float32) * weight
    return Image.fromarray(np.clip(np.rint(mixed), 0, 255).astype(np.uint8))


def _extend(source: Image.Image, sides: dict[str, int], fill: str, seed: int) -> tuple[Image.Image, Image.Image]:
    """The bigger canvas with its new parts filled, and the mask of those parts (white)."""
    pixels = np.asarray(source)
    pad = ((sides["up"], sides["down"]), (sides["left"], sides["right"]), (0, 0))
    if fill == "edge":
        canvas = np.pad(pixels, pad, mode="edge")
    elif fill == "mirror":
        canvas = np.pad(pixels, pad, mode="symmetric")
    else:
        canvas = np.pad(pixels, pad, mode="constant", constant_values=128)
        if fill == "noise":  # seeded: the same seed gives the same fill
            noise = np.random.default_rng(seed).integers(0, 256, size=canvas.shape, dtype=np.uint8)
            inside = np.zeros(canvas.shape[:2], dtype=bool)
            inside[sides["up"]:sides["up"] + pixels.shape[0], sides["left"]:sides["left"] + pixels.shape[1]] = True
            canvas = np.where(inside[..., None], canvas, noise)
    mask = np.full(canvas.shape[:2], 255, dtype=np.uint8)
    mask[sides["up"]:sides["up"] + pixels.shape[0], sides["left"]:sides["left"] + pixels.shape[1]] = 0
    return Image.fromarray(canvas.astype(np.uint8)), Image.fromarray(mask)

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

A call goes: 1. check inputs, 2. prepare the mask (invert, blur) and the
generation size, 3. run diffusers through the shared `_generate`, 4. resize back
to the input's size and blend the original in outside the mask.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from pipelines import checks
from pipelines.image import (
    MAX_STEPS,
    ImageToImage,
    StepCallback,
    TextToImage,
    _check_callback,
    _Diffusion,
    _load_pipe,
    fit_size,
)
from pipelines.image_io import MAX_SIDE, load_image
from pipelines.results import ImageResult

INPAINT_AREAS = ("whole", "masked")
MASK_MODES = ("masked", "unmasked")
FILLS = ("edge", "mirror", "noise", "gray")
MAX_BLUR = 64
MAX_PADDING = 512
MAX_EXTEND = 1024  # pixels added on one side by outpaint
# A1111's infotext words for the settings above.
AREA_LABELS = {"whole": "Whole picture", "masked": "Only masked"}
MODE_LABELS = {"masked": "Inpaint masked", "unmasked": "Inpaint not masked"}


def load_mask(value, size: tuple[int, int]) -> Image.Image:
    """A greyscale mask of `size`: white (255) is redrawn, black kept, grey partly."""
    mask = load_image(value, "mask").convert("L")
    if mask.size != tuple(size):
        raise ValueError(f"mask is {mask.size[0]}x{mask.size[1]}; it must be the image's size, {size[0]}x{size[1]}")
    return mask


class Inpaint(_Diffusion):
    task = "inpaint"

    @classmethod
    def from_pretrained(cls, model: str, *, device: str | None = None, dtype=None) -> Inpaint:
        """An inpainting checkpoint (9-channel UNet) or an ordinary one (latent masking)."""
        pipe, decoder = _load_pipe("AutoPipelineForInpainting", model, device, dtype)
        return cls(pipe, model, decoder)

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

    def __call__(
        self,
        image,
        mask,
        prompt: str,
        *,
        negative_prompt: str = "",
        mask_blur: int = 4,
        inpaint_area: str = "whole",
        padding: int = 32,
        mask_mode: str = "masked",
        strength: float = 0.75,
        steps: int = 25,
        guidance: float = 7.5,
        width: int | None = None,
        height: int | None = None,
        seed: int | None = None,
        batch_size: int = 1,
        scheduler: str | None = None,
        preview_every: int = 0,
        callback: StepCallback | None = None,
    ) -> ImageResult:
        """Redraw the white part of `mask` (the black part with mask_mode="unmasked") after `prompt`.

        The result has the input's size. Width and height are the size the model draws at:
        by default the image's own (fitted to a multiple of 8), or with inpaint_area="masked"
        the model's native size, for the crop around the mask.
        """
        source = load_image(image)
        painted = load_mask(mask, source.size)
        params = self._check_common(prompt, negative_prompt, steps, guidance, batch_size, scheduler)
        inpaint_area = checks.choice("inpaint_area", inpaint_area, INPAINT_AREAS)
        mask_mode = checks.choice("mask_mode", mask_mode, MASK_MODES)
        padding = checks.integer("padding", padding, low=0, high=MAX_PADDING)
        redraw = painted if mask_mode == "masked" else Image.eval(painted, lambda v: 255 - v)
        if redraw.getextrema()[1] == 0:
            what = "white" if mask_mode == "masked" else "black"
            raise ValueError(f"mask has no {what} pixels, so there is nothing to redraw; paint the part to redraw")
        params.update(inpaint_area=inpaint_area, mask_mode=mask_mode, padding=padding)
        return self._inpaint(source, redraw, painted, params, dict(mask_blur=mask_blur, strength=strength, width=width,
                             height=height, seed=seed, preview_every=preview_every, callback=callback))

    def outpaint(
        self,
        image,
        prompt: str,
        *,
        negative_prompt: str = "",
        left: int = 0,
        right: int = 0,
        up: int = 0,
        down: int = 0,
        fill: str = "edge",
        mask_blur: int = 8,
        strength: float = 0.8,
        steps: int = 25,
        guidance: float = 7.5,
        seed: int | None = None,
        batch_size: int = 1,
        scheduler: str | None = None,
        preview_every: int = 0,
        callback: StepCallback | None = None,
    ) -> ImageResult:
        """Extend the canvas by `left`, `right`, `up`, `down` pixels and draw the new parts after `prompt`.

        The new parts start as `fill` (edge: the border pixels stretched out, mirror, noise, gray)
        before the redraw; the original pixels stay in place, untouched.
        """
        source = load_image(image)
        params = self._check_common(prompt, negative_prompt, steps, guidance, batch_size, scheduler)
        sides = {name: checks.integer(name, value, low=0, high=MAX_EXTEND)
                 for name, value in dict(left=left, right=right, up=up, down=down).items()}
        if not any(sides.values()):
            raise ValueError("left, right, up and down are all 0, so there is nothing to add; extend at least one side")
        fill = checks.choice("fill", fill, FILLS)
        width, height = source.size[0] + sides["left"] + sides["right"], source.size[1] + sides["up"] + sides["down"]
        if max(width, height) > MAX_SIDE:
            raise ValueError(f"outpainted size {width}x{height} is too large; each side must stay at most {MAX_SIDE} pixels")
        seed = checks.seed(seed)
        canvas, redraw = _extend(source, sides, fill, seed)
        # The blur softens the seam inside the new parts only: the original is never redrawn.
        params.update(**sides, fill=fill)
        result = self._inpaint(canvas, redraw, redraw, params,
                               dict(mask_blur=mask_blur, strength=strength, width=None, height=None, seed=seed,
                                    preview_every=preview_every, callback=callback), keep=redraw)
        result.params["task"] = "outpaint"
        return result

    def _inpaint(self, source: Image.Image, redraw: Image.Image, painted: Image.Image, params: dict, settings: dict,
                 keep: Image.Image | None = None) -> ImageResult:
        mask_blur = checks.integer("mask_blur", settings["mask_blur"], low=0, high=MAX_BLUR)
        strength = checks.number("strength", settings["strength"], low=0.0, high=1.0, low_open=True)
        if int(params["steps"] * strength) < 1:
            raise ValueError(
                f"strength {strength:g} with steps {params['steps']} leaves no denoising step "
                "(steps x strength must be at least 1); raise strength or steps"
            )
        only_masked = params.get("inpaint_area") == "masked"
        default_w, default_h = (self.native_size, self.native_size) if only_masked else fit_size(*source.size)
        width, height = self._check_size(settings["width"] or default_w, settings["height"] or default_h)
        preview_every = checks.integer("preview_every", settings["preview_every"], low=0, high=MAX_STEPS)
        _check_callback(settings["callback"])
        seed = checks.seed(settings["seed"])
        blurred = redraw.filter(ImageFilter.GaussianBlur(mask_blur)) if mask_blur else redraw
        if keep is not None:  # outpaint: zero over the original, so its pixels stay exact
            blurred = Image.fromarray(np.minimum(np.asarray(blurred), np.asarray(keep)))
        params.update(mask_blur=mask_blur, strength=strength, width=width, height=height)
        if only_masked:
            # diffusers crops around the mask (`padding` wider), draws the crop at width x height, pastes it back.
            call = {"image": source, "mask_image": blurred, "padding_mask_crop": params["padding"]}
        else:
            call = {"image": source.resize((width, height), Image.LANCZOS) if source.size != (width, height) else source,
                    "mask_image": blurred.resize((width, height), Image.LANCZOS) if blurred.size != (width, height) else blurred}
        call.update(strength=strength, width=width, height=height)
        seeds = [seed + i for i in range(params["batch_size"])]
        images, recipe, previews = self._generate([params["prompt"]], seeds, params, call, settings["callback"], preview_every)
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

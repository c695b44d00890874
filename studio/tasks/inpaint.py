"""Inpaint and outpaint: redraw part of an image, or extend its canvas.

With the preset's image model (or `model=` naming the same one) the inpaint
pipeline is built from the text-to-image one with `from_pipe`: one set of
weights. Another model, such as an inpainting checkpoint, loads on its own.
"""

from __future__ import annotations

from pipelines.embeddings import embedded
from pipelines.lora import applied
from studio.base import StudioBase
from studio.library import networks


class InpaintTasks(StudioBase):
    def _inpainter(self, model: str | None):
        """The cached inpaint wrapper for `model` (default: the preset's image model), held for one call."""
        from pipelines.image import TextToImage
        from pipelines.inpaint import Inpaint

        wanted = self.model_ref("image", model)
        if wanted != self.model_ref("image"):
            return self._use("inpaint", wanted, Inpaint.from_pretrained)
        return self._use_derived("inpaint", wanted, Inpaint.from_text_to_image, "text_to_image", TextToImage.from_pretrained)

    def inpaint(
        self,
        image,
        mask,
        prompt: str,
        *,
        negative_prompt: str | None = None,
        mask_blur: int | None = None,
        inpaint_area: str | None = None,
        padding: int | None = None,
        mask_mode: str | None = None,
        strength: float | None = None,
        steps: int | None = None,
        guidance: float | None = None,
        width: int | None = None,
        height: int | None = None,
        seed: int | None = None,
        batch_size: int | None = None,
        scheduler: str | None = None,
        preview_every: int | None = None,
        model: str | None = None,
        callback=None,
    ):
        """Redraw the white part of `mask` in `image` after `prompt`; the rest keeps its pixels exactly.

        `mask`: same size as the image, white = redraw (mask_mode="unmasked" redraws the black part).
        `inpaint_area`: "whole" picture, or "masked": a crop around the mask, `padding` pixels wider,
        drawn at width x height and pasted back. `mask_blur` softens the mask's edge (pixels).
        `model`: another checkpoint, e.g. an inpainting one (9-channel UNet); default the preset's.
        """
        settings = self._settings("inpaint", locals(), model=self.model_ref("image", model))
        chosen = networks.choose(self.library, prompt, settings.get("negative_prompt"), None)  # <lora:...> tags
        with self._guard("inpainting"), self._inpainter(model) as pipe:
            with applied(pipe.pipe, chosen.loras), embedded(pipe.pipe, chosen.embeddings):
                result = pipe(image, mask, chosen.prompt, **settings)
        chosen.record(result.params, prompt)
        return self._finish(result)

    def outpaint(
        self,
        image,
        prompt: str,
        *,
        left: int | None = None,
        right: int | None = None,
        up: int | None = None,
        down: int | None = None,
        fill: str | None = None,
        negative_prompt: str | None = None,
        mask_blur: int | None = None,
        strength: float | None = None,
        steps: int | None = None,
        guidance: float | None = None,
        seed: int | None = None,
        batch_size: int | None = None,
        scheduler: str | None = None,
        preview_every: int | None = None,
        model: str | None = None,
        callback=None,
    ):
        """Extend `image` by `left`, `right`, `up`, `down` pixels, drawing the new parts after `prompt`.

        `fill`: what the new parts start from before the redraw (edge, mirror, noise, gray).
        The original pixels stay in place, unchanged; the result is the bigger canvas.
        """
        settings = self._settings("outpaint", locals(), model=self.model_ref("image", model))
        chosen = networks.choose(self.library, prompt, settings.get("negative_prompt"), None)
        with self._guard("outpainting"), self._inpainter(model) as pipe:
            with applied(pipe.pipe, chosen.loras), embedded(pipe.pipe, chosen.embeddings):
                result = pipe.outpaint(image, chosen.prompt, **settings)
        chosen.record(result.params, prompt)
        return self._finish(result)

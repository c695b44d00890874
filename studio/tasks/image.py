"""Image operations: text-to-image and image-to-image (sharing one set of weights)."""

from __future__ import annotations

from pipelines.embeddings import embedded
from pipelines.lora import applied
from studio.base import StudioBase
from studio.library import networks


class ImageTasks(StudioBase):
    def text_to_image(
        self,
        prompt: str,
        *,
        negative_prompt: str | None = None,
        steps: int | None = None,
        guidance: float | None = None,
        width: int | None = None,
        height: int | None = None,
        seed: int | None = None,
        batch_size: int | None = None,
        scheduler: str | None = None,
        preview_every: int | None = None,
        model: str | None = None,
        loras=None,
        hires: dict | None = None,
        control: list | None = None,
        callback=None,
    ):
        """Images from a prompt. Unset settings come from the preset, then the model's defaults.

        `seed` None or -1 draws one (recorded in the result); image i of a batch uses seed + i.
        Step previews: N > 0 decodes every Nth step into `result.previews`; 0 none; unset, where cheap.
        The settings' ranges and defaults: `settings("text_to_image")`.
        `hires`: a hires fix, {"scale": 2, "steps": 0, "strength": 0.7, "upscaler": "latent"|"lanczos"|"upscaler"}
        (its settings: `part_settings("hires")`).
        `control`: ControlNet guidance, [{"model", "image", "preprocessor": "canny"|"depth"|"none", "scale",
        "start", "end"}]; models by hub id or folder.
        `callback(step, total, preview)` is called after each step.
        `model`: a hub id or a name from `list_models("image")` (default: the preset's).
        `loras`: LoRAs of `list_models("lora")` for this request only: "name:0.8, other" or {"name": 0.8};
        the prompt's `<lora:name:0.8>` tags add to them. Embeddings apply where the prompt names them.
        """
        given = dict(locals())  # the caller's values, by name (taken first: nothing else is local yet)
        from pipelines.image import TextToImage

        loaded = self.model_ref("image", model)
        settings = self._settings("text_to_image", given, model=loaded)
        settings.pop("upscale_image", None)
        settings["load_control"] = self._control_loader
        if isinstance(hires, dict) and str(hires.get("upscaler", "")).lower() == "upscaler":
            settings["upscale_image"] = self._upscale_image
        chosen = networks.choose(self.library, prompt, settings.get("negative_prompt"), loras)
        with self._guard("generating images"), self._use("text_to_image", loaded, TextToImage.from_pretrained) as pipe:
            with applied(pipe.pipe, chosen.loras), embedded(pipe.pipe, chosen.embeddings):
                result = pipe(chosen.prompt, **settings)
        chosen.record(result.params, prompt)
        return self._finish(result)

    def image_to_image(
        self,
        image,
        prompt: str,
        *,
        negative_prompt: str | None = None,
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
        loras=None,
        control: list | None = None,
        callback=None,
    ):
        """Redraw `image` (PIL image, path or array) after `prompt`; `strength` in (0, 1].

        Built from the text-to-image pipeline with `from_pipe`: no second copy of the weights.
        `model`, `loras`: as for `text_to_image`.
        `control`: ControlNet guidance, as for `text_to_image`.
        """
        given = dict(locals())  # the caller's values, by name (taken first: nothing else is local yet)
        from pipelines.image import TextToImage

        model = self.model_ref("image", model)
        settings = self._settings("image_to_image", given, model=model)
        settings["load_control"] = self._control_loader
        chosen = networks.choose(self.library, prompt, settings.get("negative_prompt"), loras)
        derived = self._use_derived("image_to_image", model, TextToImage.image_to_image, "text_to_image",
                                    TextToImage.from_pretrained)
        with self._guard("generating images"), derived as pipe:
            with applied(pipe.pipe, chosen.loras), embedded(pipe.pipe, chosen.embeddings):
                result = pipe(image, chosen.prompt, **settings)
        chosen.record(result.params, prompt)
        return self._finish(result)

    def text_to_image_many(self, prompts: list[str], seeds: list[int], *, model: str | None = None, **settings):
        """One image per (prompt, seed) pair in one batched pass of the model, for job runners.

        `settings` as for `text_to_image`, equal for every pair; no step previews are kept, and
        LoRAs and embeddings apply per request, so they are not taken. Returns one ImageResult per pair.
        """
        from pipelines.image import TextToImage

        accepted = TextToImage.many.settings.names()
        unknown = sorted(set(settings) - set(accepted))
        if unknown:  # loras, hires, control: per request, not for one pass of many prompts
            raise ValueError(f"{unknown[0]} is not a setting of text_to_image_many; expected one of: {', '.join(accepted)}")
        loaded = self.model_ref("image", model)
        given = settings
        settings = self._settings("text_to_image", given, model=loaded, call=TextToImage.many)
        if "batch_size" not in given:
            settings.pop("batch_size", None)  # one image per pair, whatever the preset's batch size
        for prompt in prompts:  # an embedding applies to its own request only
            if networks.choose(self.library, prompt, settings.get("negative_prompt"), None).embeddings:
                raise ValueError("an embedding is named in a batched prompt; run its job on its own")
        with self._guard("generating images"), self._use("text_to_image", loaded, TextToImage.from_pretrained) as pipe:
            results = pipe.many(list(prompts), list(seeds), **settings)
        return [self._finish(result) for result in results]

    @staticmethod
    def part_settings(keyword: str):
        """The declared settings inside a dict keyword of the image operations (`pipelines.settings.Settings`):
        "hires" (the keys of `hires={...}`) or "control" (those of one ControlNet unit, beside its model and image)."""
        from pipelines import control, hires

        parts = {"hires": hires.SETTINGS, "control": control.SETTINGS}
        if keyword not in parts:
            raise ValueError(f"keyword must be one of {', '.join(parts)}, got {keyword!r}")
        return parts[keyword]

    def _control_loader(self, kind: str, name: str):
        """A ControlNet ("controlnet") or a depth model ("depth"), loaded once into the model cache."""
        from pipelines.control import DepthEstimator, load_controlnet
        from pipelines.devices import pick_dtype

        if kind == "controlnet":  # a hub id, or a name under the models folder's ControlNet/
            reference = self.model_ref("controlnet", name)
            return self.models.get(self._key("controlnet", reference),
                                   lambda: load_controlnet(reference, device=self.device,
                                                           dtype=pick_dtype(self.device, self._dtype_choice, kind="diffusion")))
        reference = self.model_ref("image", name)
        return self.models.get(self._key("depth", reference), lambda: DepthEstimator.from_pretrained(reference, device=self.device))

    def control_map(self, image, preprocessor: str = "canny", *, low: int = 100, high: int = 200,
                    depth_model: str | None = None):
        """The control map ControlNet would see for `image`: canny edges, a depth map, or the image ("none")."""
        from pipelines.control import check, control_map

        entry = check([{"model": "preview", "image": image, "preprocessor": preprocessor, "low": low, "high": high,
                        **({"depth_model": depth_model} if depth_model else {})}])[0]
        depth = self._control_loader("depth", entry["depth_model"]) if entry["preprocessor"] == "depth" else None
        with self._guard("making the control map"):
            return control_map(entry, entry["image"].size, depth)

    def _upscale_image(self, image):
        """`image` through the preset's upscaling model at its own factor (for the hires fix)."""
        from pipelines.upscale import Upscaler

        loaded = self.model_ref("upscale")
        settings = self._settings("upscale", {}, model=loaded)
        settings.pop("scale", None)
        with self._use("upscale", loaded, Upscaler.from_pretrained) as upscaler:
            return upscaler(image, **settings).images[0]

    def upscale(self, image, scale: int | None = None, *, tile: int | None = None, model: str | None = None):
        """Upscale `image` x2 or x4 with the preset's Swin2SR model, `tile` input pixels at a time."""
        given = dict(locals())
        from pipelines.upscale import Upscaler

        loaded = self.model_ref("upscale", model)
        settings = self._settings("upscale", given, model=loaded)
        with self._guard("upscaling"), self._use("upscale", loaded, Upscaler.from_pretrained) as upscaler:
            return self._finish(upscaler(image, **settings))

    def vae_latents(self, image, *, model: str | None = None):
        """The image model's VAE at work: `image` encoded to latents, their channels, and decoded back."""
        from pipelines.image import TextToImage
        from pipelines.latents import explore

        model = self.model_ref("image", model)
        with self._guard("encoding the image"), self._use("text_to_image", model, TextToImage.from_pretrained) as t2i:
            view = explore(t2i.pipe, image, model=model)
        self._finish(view)
        return view

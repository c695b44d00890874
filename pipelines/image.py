"""Stable Diffusion text-to-image and image-to-image over diffusers.

Any SD-family checkpoint diffusers' auto pipelines know (SD 1.x/2.x, Turbo,
SDXL) loads through `from_pretrained`. `ImageToImage.from_text_to_image` builds
the img2img pipeline with `from_pipe`, so both share one set of weights.

torch and diffusers are imported inside the methods, so importing this module
(the UI reads the signatures for its defaults) stays cheap.

A call goes: 1. check inputs, 2. pick the scheduler, 3. seed one generator per
image, 4. run diffusers (its own tqdm bar shows progress), 5. record the recipe.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from PIL import Image

from pipelines import checks, families, prompt_weights
from pipelines.devices import generator, pick_device, pick_dtype, place, precision_of
from pipelines.image_io import load_image
from pipelines.loading import SAFE_LOAD, load
from pipelines.preview import PreviewBudget, load_decoder
from pipelines.preview import decode as preview_decode
from pipelines.results import ImageResult

MIN_SIZE, MAX_SIZE, SIZE_STEP = 64, 2048, 8
MAX_STEPS = 150
MAX_GUIDANCE = 30.0
MAX_BATCH = 8
MAX_PROMPT_CHARS = 4000

# A1111 sampler names (what creators know, and what its infotext records) -> diffusers scheduler.
SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {
    "Euler": ("EulerDiscreteScheduler", {}),
    "Euler a": ("EulerAncestralDiscreteScheduler", {}),
    "DPM++ 2M": ("DPMSolverMultistepScheduler", {}),
    "DPM++ 2M Karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "DPM++ SDE": ("DPMSolverSinglestepScheduler", {}),
    "Heun": ("HeunDiscreteScheduler", {}),
    "LMS": ("LMSDiscreteScheduler", {}),
    "DDIM": ("DDIMScheduler", {}),
    # A1111's PLMS is plain PLMS: PNDM's Runge-Kutta warm-up steps would run extra UNet
    # calls and crash below 4 steps.
    "PLMS": ("PNDMScheduler", {"skip_prk_steps": True}),
    "UniPC": ("UniPCMultistepScheduler", {}),
    "LCM": ("LCMScheduler", {}),
}

# callback(step, total, preview) is called after every denoising step; total is the
# number of calls diffusers will make (Heun calls twice per step but the last), preview
# is a PIL image on preview steps, else None. It may raise (e.g. Cancelled) to stop.
StepCallback = Callable[[int, int, "Image.Image | None"], None]


def _check_preview_every(preview_every) -> int | None:
    """Decode every Nth step into a preview; 0: none; None: automatic (pipelines.preview.PreviewBudget)."""
    return None if preview_every is None else checks.integer("preview_every", preview_every, low=0, high=MAX_STEPS)


def _check_callback(callback) -> None:
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be a function (step, total, preview), got {type(callback).__name__}")


def scheduler_name(scheduler) -> str:
    """The A1111 name of a scheduler instance, or its class name when A1111 has none."""
    cls = type(scheduler).__name__
    karras = bool(getattr(scheduler.config, "use_karras_sigmas", False))
    for name, (class_name, options) in [*SCHEDULERS.items(), *families.FLOW_SCHEDULERS.items()]:  # both have "Euler"
        if class_name == cls and bool(options.get("use_karras_sigmas", False)) == karras:
            return name
    return cls


class _Diffusion:
    """What text-to-image and image-to-image share: the pipe, schedulers, checks, previews."""

    task = ""

    def __init__(self, pipe, model: str, preview_decoder=None):
        self.pipe = pipe
        self.model = model
        self.device = str(pipe.device)
        self._default_scheduler = pipe.scheduler
        self.preview_decoder = preview_decoder  # a tiny autoencoder (pipelines.preview), or None: the full VAE
        self.family = families.of(pipe)  # what SD, SDXL, SD3, FLUX.1... each take

    def modules(self) -> list:
        """The torch modules holding weights (the model cache counts their memory)."""
        import torch

        return [m for m in [*self.pipe.components.values(), self.preview_decoder] if isinstance(m, torch.nn.Module)]

    @property
    def native_size(self) -> int:
        return self.family.native_size

    def _check_common(self, prompt, negative_prompt, steps, guidance, batch_size, scheduler) -> dict[str, Any]:
        checked = {
            "prompt": checks.text("prompt", prompt, max_chars=MAX_PROMPT_CHARS),
            "negative_prompt": checks.text("negative_prompt", negative_prompt, max_chars=MAX_PROMPT_CHARS, allow_empty=True),
            "steps": checks.integer("steps", steps, low=1, high=MAX_STEPS),
            "guidance": checks.number("guidance", guidance, low=0.0, high=MAX_GUIDANCE),
            "batch_size": checks.integer("batch_size", batch_size, low=1, high=MAX_BATCH),
            "scheduler": None if scheduler in (None, "", "default") else checks.choice("scheduler", scheduler, SCHEDULERS),
        }
        self.family.check_scheduler(checked["scheduler"], SCHEDULERS)
        self.family.check_negative_prompt(checked["negative_prompt"])
        return checked

    def _check_size(self, width, height) -> tuple[int, int]:
        step = self.family.size_step
        for name, value in (("width", width), ("height", height)):
            if step != SIZE_STEP and isinstance(value, int) and MIN_SIZE <= value <= MAX_SIZE and value % step:
                raise ValueError(f"{name} must be a multiple of {step} for {self.family.name}, got {value}")
        return (
            checks.integer("width", width, low=MIN_SIZE, high=MAX_SIZE, multiple_of=self.family.size_step),
            checks.integer("height", height, low=MIN_SIZE, high=MAX_SIZE, multiple_of=self.family.size_step),
        )

    def _use_scheduler(self, name: str | None) -> str:
        if name is None:
            self.pipe.scheduler = self._default_scheduler
        else:
            class_name, options = self.family.schedulers(SCHEDULERS)[name]
            cls = getattr(importlib.import_module("diffusers"), class_name)
            self.pipe.scheduler = cls.from_config(self._default_scheduler.config, **options)
        return scheduler_name(self.pipe.scheduler)

    def _notices(self, prompt: str) -> list[str]:
        # SD3 and FLUX.1 also read the prompt with T5, up to the pipeline's max_sequence_length.
        t5 = getattr(self.pipe, "tokenizer_3", None) or getattr(self.pipe, "tokenizer_2", None)
        limit = inspect.signature(type(self.pipe).__call__).parameters.get("max_sequence_length")
        tokenizer, most = getattr(self.pipe, "tokenizer", None), None
        if t5 is not None and "T5" in type(t5).__name__ and limit is not None:
            tokenizer, most = t5, int(limit.default)
        if tokenizer is None:
            return []
        most = most or tokenizer.model_max_length
        notices = []
        if len(tokenizer(prompt).input_ids) > most:
            notices.append(f"prompt is longer than the text encoder's {most} tokens; the rest was ignored")
        if not self.family.guidance:
            notices.append(f"{self.family.name} has no guidance: the guidance setting was not used")
        return notices

    def _step_callback(self, callback: StepCallback | None, preview_every: int | None, total: int, previews: list,
                       size: tuple[int, int]):
        if callback is None and not preview_every:
            return None
        if preview_every:
            families.check_feature(self.pipe, "step previews")
        budget = PreviewBudget() if preview_every is None else None  # None: as many as stay under 5%

        def on_step_end(pipe, step, timestep, kwargs):
            done = step + 1
            # The pipeline knows its real number of calls once its timesteps are set.
            real_total = getattr(pipe, "_num_timesteps", None) or total
            preview = None
            if budget is not None:
                wanted = budget.allows(done, real_total)
            else:
                wanted = preview_every and (done % preview_every == 0 or done == real_total)
            if wanted:
                with budget.paying() if budget is not None else nullcontext():
                    preview = self.preview(kwargs["latents"][:1], *size)
                previews.append(preview)
            if callback is not None:
                callback(done, real_total, preview)
            return kwargs

        return on_step_end

    def preview(self, latents, width: int, height: int) -> Image.Image:
        """The step preview of one image's latents: the tiny autoencoder where there is one, else the full VAE."""
        if self.preview_decoder is None or latents.ndim != 4:  # FLUX packs its latents: the pipeline's own path
            return self.decode_latents(latents, width, height)[0]
        return preview_decode(self.preview_decoder, self.pipe, latents)[0]

    def decode_latents(self, latents, width: int, height: int) -> list[Image.Image]:
        """The denoiser's latents of a `width` x `height` image -> images with the pipeline's own VAE."""
        import torch

        vae = self.pipe.vae
        # SDXL's VAE overflows in float16: decode in float32 as diffusers itself does.
        upcast = vae.dtype == torch.float16 and getattr(vae.config, "force_upcast", False)
        latents = families.latents_for_vae(self.pipe, latents, width, height).to(torch.float32 if upcast else vae.dtype)
        try:
            with torch.no_grad():
                pixels = (vae.to(torch.float32) if upcast else vae).decode(latents, return_dict=False)[0]
        finally:
            if upcast:
                vae.to(torch.float16)
        return self.pipe.image_processor.postprocess(pixels, output_type="pil")

    def _run(self, call_kwargs: dict, params: dict, seed: int, callback, preview_every: int) -> ImageResult:
        # One generator per image, seeds seed, seed+1, ...: image i of a batch starts
        # from the noise of a single-image run with seed+i.
        seeds = [seed + i for i in range(params["batch_size"])]
        if preview_every is None and (self.preview_decoder is None or callback is None):
            preview_every = 0  # automatic previews: only where cheap (a tiny decoder) and someone watches
        images, recipe, previews = self._generate([params["prompt"]], seeds, params, call_kwargs, callback, preview_every)
        flagged = recipe.pop("flagged")
        if flagged:
            recipe["notices"] = [*recipe.get("notices", []), _flagged_notice(flagged, seeds)]
        return ImageResult(images=images, seeds=seeds, params={**recipe, "seed": seed}, previews=previews)

    def _generate(self, prompts: list[str], seeds: list[int], params: dict, call_kwargs: dict, callback, preview_every: int):
        """One diffusers call: len(seeds) images over `prompts` (each repeated equally)."""
        previews: list = []
        scheduler = self._use_scheduler(params["scheduler"])
        # A lone generator, not a list of one, so a single image equals a plain diffusers call.
        gens = [generator(self.device, s) for s in seeds]
        # A1111's weights, BREAK and long prompts become embeddings; a plain prompt stays text (same pixels).
        text, notices = prompt_weights.conditioning(self.pipe, prompts, params["negative_prompt"] or None)
        if not prompt_weights.supported(self.pipe):  # SD3, FLUX.1...: their own encoders' limits, their own settings
            notices = [n for n in notices if "longer than" not in n] + self._notices(prompts[0])
        total = self._denoising_steps(params)
        output = self.pipe(
            **text,
            num_inference_steps=params["steps"],
            guidance_scale=params["guidance"],
            num_images_per_prompt=len(seeds) // len(prompts),
            generator=gens[0] if len(gens) == 1 else gens,
            callback_on_step_end=self._step_callback(callback, preview_every, total, previews, (params["width"], params["height"])),
            **call_kwargs,
        )
        recipe = {"task": self.task, "model": self.model, **params, "scheduler": scheduler, "dtype": precision_of(self.pipe)}
        if notices:
            recipe["notices"] = sorted(set(notices))
        # Pipelines with a safety checker (SD 1.x/2.x hub layouts) black out what it flags:
        # say which images, rather than hand back black squares without a word.
        verdicts = getattr(output, "nsfw_content_detected", None) or []
        recipe["flagged"] = [i for i, verdict in enumerate(verdicts) if verdict]
        return list(output.images), recipe, previews

    def _denoising_steps(self, params: dict) -> int:
        return params["steps"]


def _load_pipe(auto_class: str, model: str, device: str | None, dtype) -> tuple[Any, Any]:
    """The pipeline and its preview decoder (None: previews use the full VAE)."""
    device = pick_device(device or "auto")
    dtype = pick_dtype(device, dtype, kind="diffusion")

    def loader(name: str):
        import diffusers

        if os.path.isfile(name):  # an A1111-style single-file checkpoint
            from pipelines import single_file

            pipe = single_file.load(name, dtype)
            if auto_class != "AutoPipelineForText2Image":
                pipe = getattr(diffusers, auto_class).from_pipe(pipe)
        else:
            pipe = getattr(diffusers, auto_class).from_pretrained(name, dtype=dtype, **SAFE_LOAD)
        pipe = place(pipe, device)
        return pipe, load_decoder(pipe, name)

    return load(model, "image generation", loader)


class TextToImage(_Diffusion):
    task = "text_to_image"

    @classmethod
    def from_pretrained(cls, model: str, *, device: str | None = None, dtype=None) -> TextToImage:
        pipe, decoder = _load_pipe("AutoPipelineForText2Image", model, device, dtype)
        return cls(pipe, model, decoder)

    def image_to_image(self) -> ImageToImage:
        """The img2img pipeline over the same weights (no second copy in memory)."""
        return ImageToImage.from_text_to_image(self)

    def __call__(
        self,
        prompt: str,
        *,
        negative_prompt: str = "",
        steps: int = 25,
        guidance: float = 7.5,
        width: int | None = None,
        height: int | None = None,
        seed: int | None = None,
        batch_size: int = 1,
        scheduler: str | None = None,
        preview_every: int | None = None,
        hires: dict | None = None,
        control: list | None = None,
        callback: StepCallback | None = None,
        upscale_image: Callable[[Image.Image], Image.Image] | None = None,
        load_control: Callable | None = None,
    ) -> ImageResult:
        """Generate `batch_size` images; width and height default to the model's native size.

        `hires={"scale", "steps", "strength", "upscaler"}`: a hires fix (see `pipelines.hires`);
        `upscale_image(image)` serves its "upscaler" choice.
        `control=[{"model", "image", "preprocessor", "scale", "start", "end"}]`: ControlNet guidance
        (see `pipelines.control`); `load_control(kind, name)` loads its models.
        """
        from pipelines import control as controlnet
        from pipelines import hires as hires_fix

        params = self._check_common(prompt, negative_prompt, steps, guidance, batch_size, scheduler)
        width, height = self._check_size(*_or_default(width, height, self.native_size, self.native_size))
        preview_every = _check_preview_every(preview_every)
        _check_callback(callback)
        hires = hires_fix.check(hires, width, height)
        seed = checks.seed(seed)
        params.update(width=width, height=height)
        if control:
            runner, extra, params["control"] = controlnet.prepare(self, control, (width, height), img2img=False,
                                                                  loader=load_control)
            if hires is not None:  # both passes guided: the second with the maps made at the upscaled size
                big = hires_fix.target_size(width, height, hires["scale"])
                redraw = controlnet.prepare(ImageToImage.from_text_to_image(self), control, big, img2img=True,
                                            loader=load_control)[:2]
                return hires_fix.run(runner, params, seed, hires, callback, preview_every, upscale_image,
                                     first_extra=extra, redraw=redraw)
            return runner._run({"width": width, "height": height, **extra}, params, seed, callback, preview_every)
        if hires is not None:
            return hires_fix.run(self, params, seed, hires, callback, preview_every, upscale_image)
        return self._run({"width": width, "height": height}, params, seed, callback, preview_every)

    def many(self, prompts: list[str], seeds: list[int], **settings) -> list[ImageResult]:
        """One image per (prompt, seed) pair in a single batched call; `settings` as for `__call__`.

        For job runners: equal settings, different prompts and seeds, one pass of the model.
        """
        if not prompts or len(prompts) != len(seeds):
            raise ValueError(f"prompts and seeds must be non-empty lists of one length, got {len(prompts)} and {len(seeds)}")
        if len(prompts) > MAX_BATCH:
            raise ValueError(f"prompts must hold at most {MAX_BATCH} prompts, got {len(prompts)}")
        if settings.get("batch_size", 1) != 1:
            raise ValueError(f"batch_size must be 1 with many(), got {settings['batch_size']}")
        width, height = settings.pop("width", None), settings.pop("height", None)
        params = self._check_common(prompts[0], settings.pop("negative_prompt", ""), settings.pop("steps", 25),
                                    settings.pop("guidance", 7.5), 1, settings.pop("scheduler", None))
        if settings:
            raise ValueError(f"unknown setting {sorted(settings)[0]!r} for many()")
        prompts = [checks.text("prompt", p, max_chars=MAX_PROMPT_CHARS) for p in prompts]
        seeds = [checks.seed(s) for s in seeds]
        width, height = self._check_size(*_or_default(width, height, self.native_size, self.native_size))
        params.update(width=width, height=height)
        images, recipe, _ = self._generate(prompts, seeds, params, {"width": width, "height": height}, None, 0)
        flagged = recipe.pop("flagged")
        results = []
        for index, (image, prompt, seed) in enumerate(zip(images, prompts, seeds, strict=True)):
            params = {**recipe, "prompt": prompt, "seed": seed}
            if index in flagged:
                params["notices"] = [*recipe.get("notices", []), _flagged_notice([0], [seed])]
            results.append(ImageResult(images=[image], seeds=[seed], params=params))
        return results


class ImageToImage(_Diffusion):
    task = "image_to_image"

    @classmethod
    def from_pretrained(cls, model: str, *, device: str | None = None, dtype=None) -> ImageToImage:
        pipe, decoder = _load_pipe("AutoPipelineForImage2Image", model, device, dtype)
        return cls(pipe, model, decoder)

    @classmethod
    def from_text_to_image(cls, text_to_image: TextToImage) -> ImageToImage:
        from diffusers import AutoPipelineForImage2Image

        try:
            pipe = AutoPipelineForImage2Image.from_pipe(text_to_image.pipe)
        except ValueError as error:  # no image-to-image pipeline in diffusers' mapping for this family
            raise ValueError(f"{text_to_image.family.name} has no image-to-image pipeline in diffusers; "
                             "use text-to-image, or another model for image-to-image") from error
        pipe.set_progress_bar_config(**getattr(text_to_image.pipe, "_progress_bar_config", {}))
        img2img = cls(pipe, text_to_image.model, text_to_image.preview_decoder)
        img2img._default_scheduler = text_to_image._default_scheduler
        return img2img

    def __call__(
        self,
        image,
        prompt: str,
        *,
        negative_prompt: str = "",
        strength: float = 0.6,
        steps: int = 25,
        guidance: float = 7.5,
        width: int | None = None,
        height: int | None = None,
        seed: int | None = None,
        batch_size: int = 1,
        scheduler: str | None = None,
        preview_every: int | None = None,
        control: list | None = None,
        callback: StepCallback | None = None,
        load_control: Callable | None = None,
    ) -> ImageResult:
        """Redraw `image` after `prompt`; `strength` 0-1 is how much of it is replaced.

        Width and height default to the image's own size, fitted into the allowed
        range and rounded to a multiple of 8; the image is resized to them.
        """
        source = load_image(image)
        params = self._check_common(prompt, negative_prompt, steps, guidance, batch_size, scheduler)
        strength = checks.number("strength", strength, low=0.0, high=1.0, low_open=True)
        if int(params["steps"] * strength) < 1:
            raise ValueError(
                f"strength {strength:g} with steps {params['steps']} leaves no denoising step "
                "(steps x strength must be at least 1); raise strength or steps"
            )
        default_w, default_h = fit_size(*source.size, step=self.family.size_step)
        width, height = self._check_size(*_or_default(width, height, default_w, default_h))
        preview_every = _check_preview_every(preview_every)
        _check_callback(callback)
        seed = checks.seed(seed)
        params.update(strength=strength, width=width, height=height)
        if source.size != (width, height):
            source = source.resize((width, height), Image.LANCZOS)
        call = {"image": source, "strength": strength}
        if "width" in inspect.signature(type(self.pipe).__call__).parameters:
            call.update(width=width, height=height)  # SD3 and FLUX.1 otherwise draw at their native size
        if control:
            from pipelines import control as controlnet

            runner, extra, params["control"] = controlnet.prepare(self, control, (width, height), img2img=True,
                                                                  loader=load_control)
            return runner._run({**call, **extra}, params, seed, callback, preview_every)
        return self._run(call, params, seed, callback, preview_every)

    def _denoising_steps(self, params: dict) -> int:
        return min(int(params["steps"] * params["strength"]), params["steps"])


def _or_default(width, height, default_width: int, default_height: int) -> tuple:
    """None means "the default size"; 0 is a size like any other, and out of range."""
    return (default_width if width is None else width, default_height if height is None else height)


def _flagged_notice(flagged: list[int], seeds: list[int]) -> str:
    many = len(flagged) > 1
    which = ", ".join(str(i + 1) for i in flagged)
    seeds_of = ", ".join(str(seeds[i]) for i in flagged)
    return (f"the model's safety checker flagged image{'s' if many else ''} {which} of {len(seeds)} "
            f"(seed{'s' if many else ''} {seeds_of}) and returned {'them' if many else 'it'} black; "
            "another prompt or seed may pass")


def fit_size(width: int, height: int, step: int = SIZE_STEP) -> tuple[int, int]:
    """A size of the same aspect within [MIN_SIZE, MAX_SIZE], both sides multiples of `step` (8; 16 for SD3, FLUX.1)."""
    scale = min(1.0, MAX_SIZE / max(width, height))
    scale = max(scale, MIN_SIZE / min(width, height))
    fit = [min(MAX_SIZE, max(MIN_SIZE, int(side * scale) // step * step)) for side in (width, height)]
    return fit[0], fit[1]

"""Stable Diffusion text-to-image and image-to-image over diffusers.

Any SD-family checkpoint diffusers' auto pipelines know (SD 1.x/2.x, Turbo,
SDXL) loads through `from_pretrained`. `ImageToImage.from_text_to_image` builds
the img2img pipeline with `from_pipe`, so both share one set of weights.

torch and diffusers are imported inside the methods, so importing this module
(the UI reads the signatures for its defaults) stays cheap.

A call goes: 1. check inputs, 2. pick the scheduler, 3. seed one generator per
image, 4. run diffusers (its own tqdm bar shows progress), 5. record the recipe.

The settings are declared once here (`SETTINGS`, `pipelines.settings`) and
`@checked` checks them on the way in. The four diffusion calls (text-to-image,
image-to-image, inpaint, outpaint) share most of them, so each names only its
own keywords and takes the shared ones as `**settings: Unpack[SizedSettings]`
(or `DiffusionSettings`, without a size): the TypedDicts keep IDEs completing
them, and `@checked` fills in their declared defaults, checks them, and shows
each one in the call's signature (`help(TextToImage.__call__)`, and what the
studio reads) as a keyword of its own. The body passes the checked settings
on as one dict, the recipe's `params`, down to the diffusers call and its step
callback, rather than each value threaded through every helper.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, Self, TypedDict, Unpack

from PIL import Image

from pipelines import checks, families, prompt_weights
from pipelines.devices import generator, place, precision_of
from pipelines.image_io import load_image
from pipelines.loading import SAFE_LOAD
from pipelines.preview import PreviewBudget, load_decoder
from pipelines.preview import decode as preview_decode
from pipelines.results import ImageResult
from pipelines.settings import SEED, Setting, Settings, checked
from pipelines.wrapper import Wrapper

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
DEFAULT_SCHEDULER = "default"  # the model's own


def _size(name: str, value: Any) -> int | None:
    """None: the model's (or the input's) size; else a side in range (the model's family may ask a multiple of 16)."""
    return None if value is None else checks.integer(name, value, low=MIN_SIZE, high=MAX_SIZE)


def _scheduler(name: str, value: Any) -> str | None:
    """A sampler of SCHEDULERS (any case); None, "" or "default": the model's own (None)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", DEFAULT_SCHEDULER)):
        return None
    return checks.choice(name, value, SCHEDULERS)


def _side(name: str, english: str, french: str, what: tuple[str, str]) -> Setting:
    return Setting(name, int, None, low=0, high=MAX_SIZE, step=SIZE_STEP, unit="px", check_value=_size,
                   help=(f"{english} (0 = {what[0]})", f"{french} (0 = {what[1]})"))


NATIVE = ("the model's native size", "taille native du modèle")
SETTINGS = Settings(
    Setting("negative_prompt", str, "", max_chars=MAX_PROMPT_CHARS, allow_empty=True,
            help=("Negative prompt", "Prompt négatif")),
    Setting("strength", float, 0.6, low=0.0, high=1.0, step=0.05, low_open=True,
            help=("Strength (how much of the image is redrawn)", "Force (part de l'image redessinée)")),
    Setting("steps", int, 25, low=1, high=MAX_STEPS, step=1, help=("Steps", "Étapes")),
    Setting("guidance", float, 7.5, low=0.0, high=MAX_GUIDANCE, step=0.5, help=("Guidance (CFG scale)", "Guidage (CFG)")),
    _side("width", "Width", "Largeur", NATIVE),
    _side("height", "Height", "Hauteur", NATIVE),
    SEED.but(help=("Seed (-1 = random)", "Graine (-1 = aléatoire)")),
    Setting("batch_size", int, 1, low=1, high=MAX_BATCH, step=1, help=("Batch size", "Nombre d'images")),
    Setting("scheduler", str, DEFAULT_SCHEDULER, choices=(DEFAULT_SCHEDULER, *SCHEDULERS), check_value=_scheduler,
            help=("Sampler", "Échantillonneur")),
    # None: automatic, as many as cost at most 5% of the denoising (pipelines.preview.PreviewBudget)
    Setting("preview_every", int, None, low=0, high=MAX_STEPS, step=1,
            help=("Show every Nth step (0 = off): noise turning into an image",
                  "Montrer une étape sur N (0 = non) : le bruit devient une image")),
)
D = SETTINGS.defaults
# Image-to-image's size defaults to its input's.
FROM_IMAGE = ("the input image's size", "taille de l'image d'entrée")
IMAGE_TO_IMAGE = SETTINGS.with_help(width=_side("width", "Width", "Largeur", FROM_IMAGE).help,
                                    height=_side("height", "Height", "Hauteur", FROM_IMAGE).help)
TEXT_TO_IMAGE = SETTINGS.only(n for n in SETTINGS.names() if n != "strength")
MANY = TEXT_TO_IMAGE.only(n for n in TEXT_TO_IMAGE.names() if n != "seed")


class DiffusionSettings(TypedDict, total=False):
    """The settings every diffusion call takes (declared in `SETTINGS`)."""

    negative_prompt: str
    steps: int
    guidance: float
    seed: int | None
    batch_size: int
    scheduler: str | None
    preview_every: int | None


class SizedSettings(DiffusionSettings, total=False):
    """With the size the model draws at (None: the model's or the input's)."""

    width: int | None
    height: int | None


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


class _Diffusion(Wrapper):
    """What text-to-image and image-to-image share: the pipe, schedulers, checks, previews.

    They load a diffusers pipeline (`auto_pipeline`, placed on the device by `pipelines.devices.place`)
    and its preview decoder, and are named by the model: `model` is its name, not a torch module.
    """

    kind = "diffusion"  # for the number format (pipelines.devices)
    loading = "image generation"
    auto_pipeline = ""  # the diffusers auto pipeline that loads it

    def __init__(self, pipe, model: str, preview_decoder=None):
        self.pipe = pipe
        self.model = model
        self.device = str(pipe.device)
        self._default_scheduler = pipe.scheduler
        self.preview_decoder = preview_decoder  # a tiny autoencoder (pipelines.preview), or None: the full VAE
        self.family = families.of(pipe)  # what SD, SDXL, SD3, FLUX.1... each take

    @classmethod
    def load_parts(cls, name: str, device: str, dtype) -> tuple:
        """The pipeline and its preview decoder (None: previews use the full VAE)."""
        import diffusers

        if os.path.isfile(name):  # an A1111-style single-file checkpoint
            from pipelines import single_file

            pipe = single_file.load(name, dtype)
            if cls.auto_pipeline != "AutoPipelineForText2Image":
                pipe = getattr(diffusers, cls.auto_pipeline).from_pipe(pipe)
        else:
            pipe = getattr(diffusers, cls.auto_pipeline).from_pretrained(name, dtype=dtype, **SAFE_LOAD)
        pipe = place(pipe, device)
        return pipe, load_decoder(pipe, name)

    @classmethod
    def from_parts(cls, parts: tuple, model: str) -> Self:
        pipe, decoder = parts
        return cls(pipe, model, decoder)

    def modules(self) -> list:
        """The torch modules holding weights (the model cache counts their memory)."""
        import torch

        return [m for m in [*self.pipe.components.values(), self.preview_decoder] if isinstance(m, torch.nn.Module)]

    def _prepare(self, prompt, settings: dict[str, Any], size: tuple[int, int] | None) -> dict[str, Any]:
        """The call's recipe so far: the prompt and the declared settings (@checked has checked them), with
        what the model's family allows; `size`: the default width and height (None: the call has no size)."""
        params = {"prompt": checks.text("prompt", prompt, max_chars=MAX_PROMPT_CHARS), **settings}
        self.family.check_scheduler(params["scheduler"], SCHEDULERS)
        self.family.check_negative_prompt(params["negative_prompt"])
        if size is not None:
            params["width"], params["height"] = self._check_size(*_or_default(params["width"], params["height"], *size))
        return params

    @property
    def native_size(self) -> int:
        return self.family.native_size

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

    def _step_callback(self, callback: StepCallback | None, every: int | None, total: int, previews: list | None,
                       size: tuple[int, int]):
        if every is None:  # automatic: only where cheap (a tiny decoder) and someone watches
            every = None if self.preview_decoder is not None and callback is not None else 0
        if previews is None:  # nobody keeps the previews
            every = 0
        if callback is None and not every:
            return None
        if every:
            families.check_feature(self.pipe, "step previews")
        budget = PreviewBudget() if every is None else None  # None: as many as stay under 5%

        def on_step_end(pipe, step, timestep, kwargs):
            done = step + 1
            # The pipeline knows its real number of calls once its timesteps are set.
            real_total = getattr(pipe, "_num_timesteps", None) or total
            preview = None
            if budget is not None:
                wanted = budget.allows(done, real_total)
            else:
                wanted = every and (done % every == 0 or done == real_total)
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

    def _run(self, call_kwargs: dict, params: dict, callback) -> ImageResult:
        # One generator per image, seeds seed, seed+1, ...: image i of a batch starts
        # from the noise of a single-image run with seed+i.
        seed = params["seed"]
        seeds = [seed + i for i in range(params["batch_size"])]
        images, recipe, previews = self._generate([params["prompt"]], seeds, params, call_kwargs, callback)
        flagged = recipe.pop("flagged")
        if flagged:
            recipe["notices"] = [*recipe.get("notices", []), _flagged_notice(flagged, seeds)]
        return ImageResult(images=images, seeds=seeds, params={**recipe, "seed": seed}, previews=previews)

    def _generate(self, prompts: list[str], seeds: list[int], params: dict, call_kwargs: dict, callback, *,
                  keep_previews: bool = True):
        """One diffusers call: len(seeds) images over `prompts` (each repeated equally).

        `params`: the call's settings and recipe; its step-preview setting is read here and left out of the recipe.
        """
        recipe = {"task": self.task, "model": self.model, **params}
        every = recipe.pop("preview_every", None)
        previews: list | None = [] if keep_previews else None
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
            callback_on_step_end=self._step_callback(callback, every, total, previews, (params["width"], params["height"])),
            **call_kwargs,
        )
        recipe.update(scheduler=scheduler, dtype=precision_of(self.pipe))
        if notices:
            recipe["notices"] = sorted(set(notices))
        # Pipelines with a safety checker (SD 1.x/2.x hub layouts) black out what it flags:
        # say which images, rather than hand back black squares without a word.
        verdicts = getattr(output, "nsfw_content_detected", None) or []
        recipe["flagged"] = [i for i, verdict in enumerate(verdicts) if verdict]
        return list(output.images), recipe, previews or []

    def _denoising_steps(self, params: dict) -> int:
        return params["steps"]


class TextToImage(_Diffusion):
    task = "text_to_image"
    auto_pipeline = "AutoPipelineForText2Image"

    def image_to_image(self) -> ImageToImage:
        """The img2img pipeline over the same weights (no second copy in memory)."""
        return ImageToImage.from_text_to_image(self)

    @checked(TEXT_TO_IMAGE)
    def __call__(
        self,
        prompt: str,
        *,
        hires: dict | None = None,
        control: list | None = None,
        callback: StepCallback | None = None,
        upscale_image: Callable[[Image.Image], Image.Image] | None = None,
        load_control: Callable | None = None,
        **settings: Unpack[SizedSettings],
    ) -> ImageResult:
        """Generate `batch_size` images; width and height default to the model's native size.

        The settings (negative_prompt, steps, guidance, ...) are declared in `TEXT_TO_IMAGE`.
        `hires={"scale", "steps", "strength", "upscaler"}`: a hires fix (see `pipelines.hires`);
        `upscale_image(image)` serves its "upscaler" choice.
        `control=[{"model", "image", "preprocessor", "scale", "start", "end"}]`: ControlNet guidance
        (see `pipelines.control`); `load_control(kind, name)` loads its models.
        `callback(step, total, preview)` is called after every step.
        """
        from pipelines import control as controlnet
        from pipelines import hires as hires_fix

        # 1. check: the declared settings on the way in (@checked), then what the model's family allows
        params = self._prepare(prompt, settings, (self.native_size, self.native_size))
        _check_callback(callback)
        size = {"width": params["width"], "height": params["height"]}
        hires = hires_fix.check(hires, *size.values())
        # 2. run: guided by ControlNet, in two passes (a hires fix), or plain
        if control:
            runner, extra, params["control"] = controlnet.prepare(self, control, tuple(size.values()), img2img=False,
                                                                  loader=load_control)
            if hires is not None:  # both passes guided: the second with the maps made at the upscaled size
                big = hires_fix.target_size(*size.values(), hires["scale"])
                redraw = controlnet.prepare(ImageToImage.from_text_to_image(self), control, big, img2img=True,
                                            loader=load_control)[:2]
                return hires_fix.run(runner, params, hires, callback, upscale_image, first_extra=extra, redraw=redraw)
            return runner._run({**size, **extra}, params, callback)
        if hires is not None:
            return hires_fix.run(self, params, hires, callback, upscale_image)
        return self._run(size, params, callback)

    @checked(MANY)
    def many(self, prompts: list[str], seeds: list[int], **settings) -> list[ImageResult]:
        """One image per (prompt, seed) pair in a single batched call; `settings` as for `__call__`
        (batch_size 1 and no seed: one image per pair; no step previews are kept).

        For job runners: equal settings, different prompts and seeds, one pass of the model.
        """
        if not prompts or len(prompts) != len(seeds):
            raise ValueError(f"prompts and seeds must be non-empty lists of one length, got {len(prompts)} and {len(seeds)}")
        if len(prompts) > MAX_BATCH:
            raise ValueError(f"prompts must hold at most {MAX_BATCH} prompts, got {len(prompts)}")
        if settings["batch_size"] != 1:
            raise ValueError(f"batch_size must be 1 with many(), got {settings['batch_size']}")
        params = self._prepare(prompts[0], settings, (self.native_size, self.native_size))
        prompts = [checks.text("prompt", p, max_chars=MAX_PROMPT_CHARS) for p in prompts]
        seeds = [checks.seed(s) for s in seeds]
        images, recipe, _ = self._generate(prompts, seeds, params, {"width": params["width"], "height": params["height"]},
                                           None, keep_previews=False)
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
    auto_pipeline = "AutoPipelineForImage2Image"

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

    @checked(IMAGE_TO_IMAGE)
    def __call__(
        self,
        image,
        prompt: str,
        *,
        strength: float = D.strength,
        control: list | None = None,
        callback: StepCallback | None = None,
        load_control: Callable | None = None,
        **settings: Unpack[SizedSettings],
    ) -> ImageResult:
        """Redraw `image` after `prompt`; `strength` 0-1 is how much of it is replaced.

        Width and height default to the image's own size, fitted into the allowed
        range and rounded to a multiple of 8; the image is resized to them.
        The other settings are declared in `IMAGE_TO_IMAGE`; `control` as for `TextToImage`.
        """
        # 1. check: the declared settings on the way in (@checked), then the image and what the family allows
        source = load_image(image)
        params = self._prepare(prompt, {"strength": strength, **settings}, fit_size(*source.size, step=self.family.size_step))
        check_steps_left(params["steps"], strength)
        _check_callback(callback)
        # 2. prepare: the image at the size the model draws at
        width, height = params["width"], params["height"]
        if source.size != (width, height):
            source = source.resize((width, height), Image.LANCZOS)
        call = {"image": source, "strength": strength}
        if "width" in inspect.signature(type(self.pipe).__call__).parameters:
            call.update(width=width, height=height)  # SD3 and FLUX.1 otherwise draw at their native size
        # 3. run
        if control:
            from pipelines import control as controlnet

            runner, extra, params["control"] = controlnet.prepare(self, control, (width, height), img2img=True,
                                                                  loader=load_control)
            return runner._run({**call, **extra}, params, callback)
        return self._run(call, params, callback)

    def _denoising_steps(self, params: dict) -> int:
        return min(int(params["steps"] * params["strength"]), params["steps"])


def check_steps_left(steps: int, strength: float) -> None:
    """At least one denoising step: diffusers runs int(steps x strength) of them."""
    if int(steps * strength) < 1:
        raise ValueError(
            f"strength {strength:g} with steps {steps} leaves no denoising step "
            "(steps x strength must be at least 1); raise strength or steps"
        )


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

"""What each image family diffusers' auto pipelines load can do, read from the loaded pipeline.

The studio's image operations are written once for every family. What differs
lives here: the family's name (for messages), its native size and size step,
its sampler choices, whether it reads a negative prompt and a guidance scale, and
how its latents reach the VAE (FLUX packs them 2x2; SD3 and FLUX shift them).
A feature a family lacks is refused with a message naming both ("FLUX.1 takes
no negative prompt"), never run half-way or ignored.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

# Pipeline class (text-to-image or image-to-image) -> the family's name as creators know it.
NAMES = {
    "StableDiffusionPipeline": "Stable Diffusion",
    "StableDiffusionImg2ImgPipeline": "Stable Diffusion",
    "StableDiffusionXLPipeline": "SDXL",
    "StableDiffusionXLImg2ImgPipeline": "SDXL",
    "StableDiffusion3Pipeline": "Stable Diffusion 3",
    "StableDiffusion3Img2ImgPipeline": "Stable Diffusion 3",
    "FluxPipeline": "FLUX.1",
    "FluxImg2ImgPipeline": "FLUX.1",
    "LatentConsistencyModelPipeline": "LCM",
    "PixArtAlphaPipeline": "PixArt-α",
    "PixArtSigmaPipeline": "PixArt-Σ",
}

# Samplers of flow-matching families, by A1111/Forge name (Forge writes "Euler" for FLUX).
# Only Euler: FLUX passes its own sigmas, which diffusers' other flow schedulers refuse.
FLOW_SCHEDULERS: dict[str, tuple[str, dict[str, Any]]] = {"Euler": ("FlowMatchEulerDiscreteScheduler", {})}


@dataclass(frozen=True)
class Family:
    name: str
    flow: bool  # flow matching (SD3, FLUX.1, ...): the A1111 samplers do not apply
    native_size: int
    size_step: int
    negative_prompt: bool
    guidance: bool
    packed: bool  # FLUX's latents are 2x2 patches in a sequence

    def schedulers(self, sd_schedulers: dict) -> dict:
        return FLOW_SCHEDULERS if self.flow else sd_schedulers

    def check_scheduler(self, name: str | None, sd_schedulers: dict) -> str | None:
        """The canonical sampler name, or None for the model's own; a sampler the family cannot run is refused."""
        choices = self.schedulers(sd_schedulers)
        if name is None or name in choices:
            return name
        if self.flow:
            raise ValueError(
                f"{self.name} takes no sampler choice but its own flow-matching Euler "
                f"(scheduler 'Euler' or left out); got {name!r}"
            )
        raise ValueError(f"unknown scheduler {name!r} for {self.name}; choose one of: {', '.join(choices)}")

    def check_negative_prompt(self, negative_prompt: str) -> None:
        if negative_prompt and not self.negative_prompt:
            raise ValueError(f"{self.name} takes no negative prompt (it is guidance-distilled); leave negative_prompt empty")


def name_of(pipe) -> str:
    cls = type(pipe).__name__
    name = NAMES.get(cls, cls.removesuffix("Pipeline").removesuffix("Img2Img"))
    transformer = getattr(pipe, "transformer", None)
    if name == "FLUX.1" and transformer is not None and not transformer.config.get("guidance_embeds", True):
        return "FLUX.1-schnell"  # no guidance embedding: schnell (dev embeds its distilled guidance)
    return name


def _is_flow(scheduler) -> bool:
    config = scheduler.config
    return (type(scheduler).__name__.startswith("FlowMatch") or config.get("prediction_type") == "flow_prediction"
            or bool(config.get("use_flow_sigmas", False)))


def _call_takes(pipe, name: str) -> bool:
    return name in inspect.signature(type(pipe).__call__).parameters


def of(pipe) -> Family:
    """The family of a loaded diffusers pipeline."""
    scale = int(getattr(pipe, "vae_scale_factor", 8) or 8)
    cls = type(pipe).__name__
    packed = cls.startswith("Flux")
    denoiser = getattr(pipe, "unet", None) or getattr(pipe, "transformer", None)
    config = denoiser.config if denoiser is not None else {}
    patch = int(config.get("patch_size", 1) or 1)
    # The denoiser's own sample size (UNets, SD3's MMDiT) when it has one; else the pipeline's
    # (FLUX fixes 128 latents: 1024 pixels), else SD's 512.
    latent_size = config.get("sample_size") or getattr(pipe, "default_sample_size", None) or 64
    if isinstance(latent_size, (list, tuple)):
        latent_size = latent_size[0]
    name = name_of(pipe)
    guidance = _call_takes(pipe, "guidance_scale") and not (packed and name.endswith("schnell"))
    return Family(
        name=name,
        flow=_is_flow(pipe.scheduler),
        native_size=int(latent_size) * scale,
        size_step=max(8, scale * (2 if packed else patch)),
        # FLUX.1's call has a negative prompt only for "true CFG" (true_cfg_scale > 1), off by default.
        negative_prompt=_call_takes(pipe, "negative_prompt") and not packed,
        guidance=guidance,
        packed=packed,
    )


def check_feature(pipe, feature: str) -> None:
    """Refuse `feature` ("step previews", "the VAE view", "image-to-image") when the family has no way to do it."""
    vae = getattr(pipe, "vae", None)
    if feature in ("step previews", "the VAE view") and (vae is None or not hasattr(vae, "encode") or not hasattr(pipe, "image_processor")):
        raise ValueError(f"{name_of(pipe)} has no VAE the studio can decode with, so it offers no {feature}")


def latents_for_vae(pipe, latents, width: int, height: int):
    """The denoiser's latents as the VAE decodes them: unpacked, unscaled and unshifted as the pipeline does."""
    vae = pipe.vae
    if type(pipe).__name__.startswith("Flux"):
        latents = pipe._unpack_latents(latents, height, width, pipe.vae_scale_factor)
    latents = latents / vae.config.scaling_factor
    shift = vae.config.get("shift_factor", None)
    return latents + shift if shift else latents

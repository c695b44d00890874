"""A tiny Stable Diffusion inpainting checkpoint: the tiny SD model with a 9-channel UNet.

Inpainting checkpoints (sd-1.5-inpainting, sdxl-inpainting) feed the UNet the
noisy latents (4 channels), the mask (1) and the masked image's latents (4).
`AutoPipelineForInpainting.from_pretrained(folder)` loads it like a hub model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline, UNet2DConditionModel

from studio.tiny import sd


def build(folder: Path) -> None:
    sd.build(folder)
    base = StableDiffusionPipeline.from_pretrained(folder)
    torch.manual_seed(1)
    unet = UNet2DConditionModel.from_config({**base.unet.config, "in_channels": 9})
    pipe = StableDiffusionInpaintPipeline(**{**base.components, "unet": unet})
    pipe.save_pretrained(folder, safe_serialization=True)

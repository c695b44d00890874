"""A tiny LoRA for the tiny Stable Diffusion UNet, made with peft: random, non-zero low-rank updates.

Written by diffusers' `save_lora_weights` as `pytorch_lora_weights.safetensors`, the
layout `load_lora_weights` reads. Its shapes follow `studio/tiny/sd.py`'s UNet.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline, UNet2DConditionModel
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict

FILE = "pytorch_lora_weights.safetensors"


def build(folder: Path) -> None:
    from studio import tiny

    # The architecture only: a LoRA holds its own weights, not the UNet's.
    unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(tiny.ensure("sd"), subfolder="unet"))
    torch.manual_seed(0)
    # init_lora_weights=False: B is random too, so the LoRA changes the output from the start.
    unet.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=False))
    with torch.no_grad():
        for name, parameter in unet.named_parameters():
            if "lora_" in name:
                parameter.mul_(2.0)  # strong enough to move a 2-step tiny image visibly
    StableDiffusionPipeline.save_lora_weights(folder, unet_lora_layers=get_peft_model_state_dict(unet), safe_serialization=True)

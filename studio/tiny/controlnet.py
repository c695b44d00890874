"""Tiny ControlNets for the tiny SD and SDXL models: `ControlNetModel.from_unet`, random weights.

A trained ControlNet starts from zero convolutions (it changes nothing until trained):
here they are drawn at random, so a test can see the guidance change the pixels.
`ControlNetModel.from_pretrained(folder)` loads it like a hub model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import ControlNetModel, UNet2DConditionModel

from studio import tiny


def _build(folder: Path, base: str) -> None:
    unet = UNet2DConditionModel.from_pretrained(tiny.ensure(base) / "unet")
    torch.manual_seed(2)
    net = ControlNetModel.from_unet(unet)
    with torch.no_grad():
        for block in [*net.controlnet_down_blocks, net.controlnet_mid_block]:
            torch.nn.init.normal_(block.weight, std=0.5)
    net.save_pretrained(folder, safe_serialization=True)


def build(folder: Path) -> None:
    _build(folder, "sd")


def build_sdxl(folder: Path) -> None:
    _build(folder, "sdxl")

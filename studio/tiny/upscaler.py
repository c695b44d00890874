"""A tiny Swin2SR x2 image upscaler."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import Swin2SRConfig, Swin2SRForImageSuperResolution
from transformers.models.swin2sr.image_processing_pil_swin2sr import Swin2SRImageProcessorPil


def build(folder: Path) -> None:
    torch.manual_seed(0)
    config = Swin2SRConfig(
        image_size=32,
        patch_size=1,
        embed_dim=16,
        depths=[1, 1],
        num_heads=[2, 2],
        window_size=4,
        upscale=2,
        upsampler="pixelshuffledirect",
    )
    Swin2SRForImageSuperResolution(config).save_pretrained(folder)
    # The PIL backend: the default Swin2SRImageProcessor needs torchvision, which
    # the studio does not install. Both read the same preprocessor_config.json; the
    # size divisor 8 is that of the real caidas/swin2SR checkpoints.
    Swin2SRImageProcessorPil(do_rescale=True, rescale_factor=1 / 255, do_pad=True, size_divisor=8).save_pretrained(
        folder
    )

"""A tiny DPT depth estimator (the MiDaS / DPT architecture), random weights, for the depth preprocessor.

`AutoModelForDepthEstimation.from_pretrained(folder)` and `AutoImageProcessor` load it like a hub model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import DPTConfig, DPTForDepthEstimation, DPTImageProcessor


def build(folder: Path) -> None:
    torch.manual_seed(0)
    config = DPTConfig(
        image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=37,
        backbone_out_indices=[0, 1, 2, 3], neck_hidden_sizes=[16, 16, 32, 32], fusion_hidden_size=16, is_hybrid=False,
    )
    DPTForDepthEstimation(config).save_pretrained(folder, safe_serialization=True)
    DPTImageProcessor(size={"height": 32, "width": 32}, keep_aspect_ratio=False).save_pretrained(folder)

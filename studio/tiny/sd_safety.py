"""The tiny SD 1.x pipeline in the hub's SD 1.5 layout: with its safety checker and feature extractor.

The checker is diffusers' `StableDiffusionSafetyChecker` over a tiny CLIP vision
tower. Its concept thresholds are set below any cosine similarity, so it flags
every image, as the real one flags what it takes for nudity: the pipeline then
returns black images and says so only in `nsfw_content_detected`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline
from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
from transformers import CLIPConfig, CLIPImageProcessor

from studio.tiny.sd import components


def build(folder: Path) -> None:
    parts = components()
    config = CLIPConfig(
        text_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4,
                       "image_size": 32, "patch_size": 8},
        projection_dim=32,
    )
    checker = StableDiffusionSafetyChecker(config).eval()
    with torch.no_grad():
        checker.concept_embeds_weights.fill_(-2.0)  # cosine similarity is at least -1: always flagged
        checker.special_care_embeds_weights.fill_(-2.0)
    extractor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    pipe = StableDiffusionPipeline(**parts, safety_checker=checker, feature_extractor=extractor, requires_safety_checker=True)
    pipe.save_pretrained(folder, safe_serialization=True)

"""A tiny FLUX.1-schnell pipeline (the FLUX.1 architecture without guidance embedding), random weights.

A `FluxTransformer2DModel` over 2x2-packed latents (16 channels x 4 = 64 inputs),
a CLIP text encoder (its pooled output), a T5 encoder, the 16-channel VAE and
schnell's flow-matching Euler scheduler (shift 1, no resolution-dependent shift).
`FluxPipeline` fixes its native size at 1024x1024, as for the real model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
from transformers import CLIPTextModel

from studio.tiny.flow import CLIP_HIDDEN, T5_HIDDEN, clip_config, clip_tokenizers, t5, vae


def build(folder: Path) -> None:
    torch.manual_seed(0)
    tokenizer, _ = clip_tokenizers()
    text_encoder = CLIPTextModel(clip_config(tokenizer))
    text_encoder_2, tokenizer_2 = t5()
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=64,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=T5_HIDDEN,
        pooled_projection_dim=CLIP_HIDDEN,
        guidance_embeds=False,  # schnell; FLUX.1-dev embeds its distilled guidance
        axes_dims_rope=[4, 4, 8],
    )
    pipe = FluxPipeline(
        transformer=transformer, vae=vae(), scheduler=FlowMatchEulerDiscreteScheduler(shift=1.0),
        text_encoder=text_encoder, tokenizer=tokenizer, text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2,
    )
    pipe.save_pretrained(folder, safe_serialization=True)

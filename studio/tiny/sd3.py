"""A tiny Stable Diffusion 3 pipeline (the SD3 / SD3.5 architecture), random weights.

An MMDiT (`SD3Transformer2DModel`, patch 2, 8x8 latents: 64x64 pixels native), two
CLIP text encoders with projections, a T5 encoder, the 16-channel VAE and a
flow-matching Euler scheduler with SD3's shift of 3.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline
from transformers import CLIPTextModelWithProjection

from studio.tiny.flow import CLIP_HIDDEN, T5_HIDDEN, clip_config, clip_tokenizers, t5, vae


def build(folder: Path) -> None:
    torch.manual_seed(0)
    tokenizer, tokenizer_2 = clip_tokenizers()
    text_encoder = CLIPTextModelWithProjection(clip_config(tokenizer))
    text_encoder_2 = CLIPTextModelWithProjection(clip_config(tokenizer_2))
    text_encoder_3, tokenizer_3 = t5()
    transformer = SD3Transformer2DModel(
        sample_size=8,
        patch_size=2,
        in_channels=16,
        out_channels=16,
        num_layers=1,
        attention_head_dim=8,
        num_attention_heads=4,
        caption_projection_dim=32,
        joint_attention_dim=T5_HIDDEN,  # CLIP's two hidden states side by side, padded to T5's width
        pooled_projection_dim=2 * CLIP_HIDDEN,
        pos_embed_max_size=32,
    )
    pipe = StableDiffusion3Pipeline(
        transformer=transformer, vae=vae(), scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        text_encoder=text_encoder, tokenizer=tokenizer, text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2,
        text_encoder_3=text_encoder_3, tokenizer_3=tokenizer_3,
    )
    pipe.save_pretrained(folder, safe_serialization=True)

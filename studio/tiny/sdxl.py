"""A tiny Stable Diffusion XL pipeline: SDXL's classes (two CLIP text encoders, pooled and
time conditioning), random weights, 64x64 images.

The shapes follow diffusers' own SDXL tests; both encoders share the tiny SD tokenizer.
`AutoPipelineForText2Image.from_pretrained(folder)` loads it like a hub model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from studio.tiny.sd import clip_tokenizer

_HIDDEN = 32


def build(folder: Path) -> None:
    torch.manual_seed(0)
    tokenizer = clip_tokenizer()
    config = CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=_HIDDEN, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=77, projection_dim=_HIDDEN, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=6 * 8 + _HIDDEN,  # six size/crop numbers + the pooled text
        cross_attention_dim=2 * _HIDDEN,  # both encoders' features side by side
        norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=[32, 32, 32, 32], layers_per_block=1, in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4, latent_channels=4,
        norm_num_groups=32, sample_size=64,
    )
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1,
                                       timestep_spacing="leading")
    pipe = StableDiffusionXLPipeline(
        vae=vae, text_encoder=CLIPTextModel(config), text_encoder_2=CLIPTextModelWithProjection(config),
        tokenizer=tokenizer, tokenizer_2=tokenizer, unet=unet, scheduler=scheduler,
    )
    pipe.save_pretrained(folder, safe_serialization=True)

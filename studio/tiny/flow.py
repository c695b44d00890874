"""What the tiny SD3 and FLUX.1 pipelines share: their 16-channel VAE and their text encoders.

Both families encode images with an 8x VAE of 16 latent channels whose latents are
shifted and scaled (`shift_factor`, `scaling_factor`), and read the prompt with
CLIP and T5 encoders (shapes after diffusers' own tests' dummy components).
"""

from __future__ import annotations

from diffusers import AutoencoderKL
from transformers import CLIPTextConfig, T5Config, T5EncoderModel

from studio.tiny.musicgen import t5_tokenizer
from studio.tiny.sd import clip_tokenizer

CLIP_HIDDEN = 32
T5_HIDDEN = 64


def vae() -> AutoencoderKL:
    # Four blocks: the real 8x downsampling, so 64x64 pixels are 8x8x16 latents.
    return AutoencoderKL(
        block_out_channels=[32, 32, 32, 32],
        layers_per_block=1,
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        latent_channels=16,
        norm_num_groups=32,
        sample_size=64,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5035,
    )


def clip_config(tokenizer) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=CLIP_HIDDEN, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=77, projection_dim=CLIP_HIDDEN,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
    )


def t5():
    tokenizer = t5_tokenizer()
    config = T5Config(vocab_size=len(tokenizer), d_model=T5_HIDDEN, d_kv=8, d_ff=64, num_layers=1, num_heads=4,
                      decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    return T5EncoderModel(config), tokenizer


def clip_tokenizers():
    return clip_tokenizer(), clip_tokenizer()

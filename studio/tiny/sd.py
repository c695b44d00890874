"""A tiny Stable Diffusion 1.x pipeline: same classes as the real one, random weights.

64x64 images (latents 8x8x4, the same 8x scale as SD), a 2-layer CLIP text encoder and a CLIP tokenizer
trained on the corpus. `StableDiffusionPipeline.from_pretrained(folder)` and
`AutoPipelineForText2Image.from_pretrained(folder)` load it like a hub model. Its
`preview_decoder/` folder holds a tiny TAESD (AutoencoderTiny) for the step previews.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    AutoencoderTiny,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from studio.tiny.corpus import TEXT

_HIDDEN = 32


def clip_tokenizer() -> CLIPTokenizer:
    # CLIP's BPE marks word ends with "</w>"; every byte character and every
    # character + "</w>" must be in the vocab so any text encodes.
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    bpe = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    bpe.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(
        vocab_size=600, initial_alphabet=alphabet, end_of_word_suffix="</w>", show_progress=False
    )
    bpe.train_from_iterator([TEXT.lower()], trainer)
    state = json.loads(bpe.to_str())["model"]
    vocab = dict(state["vocab"])
    for char in alphabet:
        vocab.setdefault(char + "</w>", len(vocab))
    for special in ("<|startoftext|>", "<|endoftext|>"):
        vocab.setdefault(special, len(vocab))
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in state["merges"]]
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=77)


def build(folder: Path) -> None:
    pipe = StableDiffusionPipeline(**components(), safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    _preview_decoder().save_pretrained(folder / "preview_decoder", safe_serialization=True)


def components() -> dict:
    """The pipeline's parts (the same random weights every time), for builders of variants."""
    torch.manual_seed(0)
    tokenizer = clip_tokenizer()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tokenizer),
            hidden_size=_HIDDEN,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=77,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    )
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=_HIDDEN,
        attention_head_dim=8,
        norm_num_groups=32,
    )
    # Four blocks give SD's 8x downsampling: 64x64 pixels <-> 8x8x4 latents.
    vae = AutoencoderKL(
        block_out_channels=[32, 32, 32, 32],
        layers_per_block=1,
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 4,
        up_block_types=["UpDecoderBlock2D"] * 4,
        latent_channels=4,
        norm_num_groups=32,
        sample_size=64,
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )
    return {"vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer, "unet": unet, "scheduler": scheduler}


def _preview_decoder() -> AutoencoderTiny:
    """A tiny TAESD (the architecture of madebyollin/taesd, narrower) for the step previews: pipelines.preview.

    Four decoder blocks give the same 8x upsampling as the VAE; latents decode as TAESD decodes SD's.
    """
    decoder = AutoencoderTiny(
        encoder_block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        num_encoder_blocks=(1, 1, 1, 1),
        num_decoder_blocks=(1, 1, 1, 1),
        latent_channels=4,
    )
    # Random weights decode to about 0, which TAESD's output scaling makes black: a larger last
    # layer centred on mid-grey shows the step strip as coloured noise, as the full VAE shows it.
    last = decoder.decoder.layers[-1]
    with torch.no_grad():
        last.weight.mul_(4)
        last.bias.fill_(0.5)
    return decoder

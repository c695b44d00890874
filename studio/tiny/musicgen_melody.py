"""A tiny MusicGen Melody: T5 text encoder, EnCodec codec, codebook decoder conditioned on chroma.

The same shapes as the tiny MusicGen (`musicgen.py`), in the melody family's
classes (`MusicgenMelodyForConditionalGeneration`: the chroma of a melody and the
text are prepended to the decoder's input instead of cross-attended). Its
feature extractor imports torchaudio, which does not install beside the pinned
torch, so `preprocessor_config.json` is written as data: the settings of
facebook/musicgen-melody, which the studio's own chroma reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import (
    EncodecConfig,
    GenerationConfig,
    MusicgenMelodyConfig,
    MusicgenMelodyDecoderConfig,
    MusicgenMelodyForConditionalGeneration,
    T5Config,
)

from studio.tiny.musicgen import (
    _BANDWIDTH,
    _CODEBOOK_SIZE,
    _NUM_CODEBOOKS,
    _SAMPLING_RATE,
    _UPSAMPLING_RATIOS,
    _t5_tokenizer,
)

# facebook/musicgen-melody's preprocessor_config.json
FEATURES = {
    "feature_extractor_type": "MusicgenMelodyFeatureExtractor",
    "feature_size": 12,
    "num_chroma": 12,
    "sampling_rate": 32000,
    "n_fft": 16384,
    "hop_length": 4096,
    "chunk_length": 30,
    "padding_value": 0.0,
    "padding_side": "right",
    "return_attention_mask": False,
    "stem_indices": [3, 2],
    "processor_class": "MusicgenMelodyProcessor",
}


def build(folder: Path) -> None:
    torch.manual_seed(0)
    tokenizer = _t5_tokenizer()
    text_encoder = T5Config(
        vocab_size=len(tokenizer),
        d_model=16,
        d_kv=8,
        d_ff=32,
        num_layers=1,
        num_heads=2,
        relative_attention_num_buckets=8,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    audio_encoder = EncodecConfig(
        sampling_rate=_SAMPLING_RATE,
        upsampling_ratios=list(_UPSAMPLING_RATIOS),
        target_bandwidths=[_BANDWIDTH],
        codebook_size=_CODEBOOK_SIZE,
        hidden_size=16,
        num_filters=4,
        num_lstm_layers=1,
        chunk_length_s=None,
        overlap=None,
    )
    decoder = MusicgenMelodyDecoderConfig(
        vocab_size=_CODEBOOK_SIZE,
        num_codebooks=_NUM_CODEBOOKS,
        hidden_size=16,
        ffn_dim=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=2048,
        pad_token_id=_CODEBOOK_SIZE,
        bos_token_id=_CODEBOOK_SIZE,
    )
    # 235 chroma frames: 30 s at 32 kHz with a hop of 4096, as in the real model
    config = MusicgenMelodyConfig(
        text_encoder=text_encoder, audio_encoder=audio_encoder, decoder=decoder, num_chroma=12, chroma_length=235
    )
    model = MusicgenMelodyForConditionalGeneration(config)
    with torch.no_grad():  # distinct codebook entries, as in musicgen.py
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
            layer.codebook.embed_avg.copy_(layer.codebook.embed)
        # a strong chroma projection and output heads: with the default 0.02-scale
        # weights the logits are near zero, sampling near uniform, and a melody
        # would change almost no code
        model.audio_enc_to_dec_proj.weight.normal_(0, 2.0)
        for head in model.decoder.lm_heads:
            head.weight.normal_(0, 1.0)
    model.generation_config = GenerationConfig(
        do_sample=True,
        guidance_scale=3.0,
        top_k=250,
        max_length=1500,
        decoder_start_token_id=_CODEBOOK_SIZE,
        pad_token_id=_CODEBOOK_SIZE,
        bos_token_id=_CODEBOOK_SIZE,
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps(FEATURES, indent=2))

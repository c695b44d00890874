"""A tiny MusicGen: T5 text encoder, EnCodec codec and codebook decoder."""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

import torch
from transformers import (
    EncodecConfig,
    EncodecFeatureExtractor,
    GenerationConfig,
    MusicgenConfig,
    MusicgenDecoderConfig,
    MusicgenForConditionalGeneration,
    MusicgenProcessor,
    T5Config,
    T5Tokenizer,
)

from studio.tiny.corpus import TEXT

_SAMPLING_RATE = 16_000
# A hop of 8*5*4*2 = 320 samples gives 50 frames a second, as in the real
# MusicGen, so `max_new_tokens = duration * 50` means the same there and here.
_UPSAMPLING_RATIOS = (8, 5, 4, 2)
_CODEBOOK_SIZE = 64
# EnCodec derives its quantizer count from the bandwidth:
# 1000 * 1.2 // (50 frames/s * log2(64) bits) = 4 codebooks, the real model's count.
_BANDWIDTH = 1.2
_NUM_CODEBOOKS = 4
_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éèêëàâäùûüçôöîïÿæœÉÈÊÀÇ.,;:!?'\"-()"


def t5_tokenizer() -> T5Tokenizer:
    # T5Tokenizer wants unigram (piece, score) pairs with <pad>, </s>, <unk> as ids 0,
    # 1, 2. Scores are log frequencies of the corpus's words and characters: unlike the
    # `tokenizers` unigram trainer (multithreaded, so its scores vary in the last
    # digits from run to run) this is deterministic, and known words stay whole.
    counts = Counter("▁" + word for word in re.findall(r"[^\W_]+", TEXT))
    counts.update(char for char in TEXT if not char.isspace())
    counts.update(_CHARACTERS)  # so letters missing from the corpus are not <unk>
    counts["▁"] += TEXT.count(" ") + TEXT.count("\n")
    total = sum(counts.values())
    pieces = sorted(counts, key=lambda piece: (-counts[piece], piece))
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(piece, math.log(counts[piece] / total)) for piece in pieces]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=512)


def build(folder: Path) -> None:
    torch.manual_seed(0)
    tokenizer = t5_tokenizer()
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
        chunk_length_s=None,  # MusicGen's generate refuses chunked codes
        overlap=None,
    )
    assert audio_encoder.frame_rate == 50 and audio_encoder.num_quantizers == _NUM_CODEBOOKS
    # The pad/start token is one past the codebook, so sampling can never emit it.
    decoder = MusicgenDecoderConfig(
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
    config = MusicgenConfig(text_encoder=text_encoder, audio_encoder=audio_encoder, decoder=decoder)
    model = MusicgenForConditionalGeneration(config)
    # EnCodec starts its codebooks at zero (the real ones are learnt by k-means), so
    # every code would decode to the same sound and every prompt encode to code 0.
    with torch.no_grad():
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
            layer.codebook.embed_avg.copy_(layer.codebook.embed)
    # Settings of facebook/musicgen-small; max_length 1500 frames = 30 s.
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

    feature_extractor = EncodecFeatureExtractor(feature_size=1, sampling_rate=_SAMPLING_RATE, padding_value=0.0)
    MusicgenProcessor(feature_extractor=feature_extractor, tokenizer=tokenizer).save_pretrained(folder)

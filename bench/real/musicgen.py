"""musicgen-small architecture: T5-base text encoder, EnCodec 32 kHz, 24-layer decoder (1024)."""

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
)

from studio import tiny


def build(folder: Path) -> None:
    torch.manual_seed(0)
    small = MusicgenProcessor.from_pretrained(tiny.ensure("musicgen"))
    tokenizer = small.tokenizer
    text = T5Config(vocab_size=len(tokenizer), d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12,
                    pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=0)
    audio = EncodecConfig(sampling_rate=32000, upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[2.2],
                          codebook_size=2048, num_filters=64, hidden_size=128, num_lstm_layers=2,
                          chunk_length_s=None, overlap=None, norm_type="weight_norm", use_causal_conv=False)
    decoder = MusicgenDecoderConfig(vocab_size=2048, num_codebooks=4, hidden_size=1024, num_hidden_layers=24,
                                    num_attention_heads=16, ffn_dim=4096, max_position_embeddings=2048,
                                    pad_token_id=2048, bos_token_id=2048)
    model = MusicgenForConditionalGeneration(MusicgenConfig(text_encoder=text.to_dict(), audio_encoder=audio.to_dict(),
                                                            decoder=decoder.to_dict()))
    model.generation_config = GenerationConfig(do_sample=True, guidance_scale=3.0, top_k=250, max_length=1500,
                                               decoder_start_token_id=2048, pad_token_id=2048, bos_token_id=2048)
    model.save_pretrained(folder)
    MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(sampling_rate=32000), tokenizer=tokenizer).save_pretrained(folder)

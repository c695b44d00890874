"""A tiny CSM (sesame/csm-1b architecture): Llama backbone, depth decoder, Mimi codec, its processor.

CSM speaks as the speaker of a conversation: a reference recording and its
text, given as an earlier turn of the same speaker, make it continue in that
voice. The shapes follow transformers' own CSM tests, scaled down; the Mimi
codec keeps the real encoder's layout (`upsampling_ratios` 8, 6, 5, 4, one
residual layer, 12.5 frames a second at 24 kHz) because the processor counts
each reference's audio tokens with the real codec's kernel sizes and strides.
The codebooks hold 64 codes and the audio vocabulary is exactly those codes, so
a random backbone cannot sample a code the codec has no entry for (the real
model's spare ids, 2048-2050, are never sampled after training); the codebooks
are random centroids.
The tokenizer is a byte-level BPE trained on the corpus with Llama 3's special
tokens, and the chat template is csm-1b's.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    CsmConfig,
    CsmForConditionalGeneration,
    CsmProcessor,
    EncodecFeatureExtractor,
    MimiConfig,
    PreTrainedTokenizerFast,
)

from studio.tiny.corpus import SENTENCES

_SPECIALS = ("<|begin_of_text|>", "<|end_of_text|>", "<|AUDIO|>", "<|audio_eos|>")
_CODEBOOKS, _CODES = 4, 64

# csm-1b's template without its checks: "[speaker]text" per turn, audio after the turns that have one
_CHAT_TEMPLATE = (
    "{%- for message in messages %}{{- bos_token }}{{- '[' + message['role'] + ']' }}"
    "{{- message['content'][0]['text'] }}{{- eos_token }}"
    "{%- if message['content']|length > 1 %}{{- '<|AUDIO|><|audio_eos|>' }}{%- endif %}{%- endfor %}"
)


def _tokenizer() -> PreTrainedTokenizerFast:
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=list(_SPECIALS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(SENTENCES, trainer)
    bos, eos, audio, audio_eos = _SPECIALS
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=bos, eos_token=eos, pad_token=audio,
                                   extra_special_tokens={"audio_token": audio, "audio_eos_token": audio_eos})


def build(folder: Path) -> None:
    torch.manual_seed(0)
    tokenizer = _tokenizer()
    bos, _, audio, audio_eos = tokenizer.convert_tokens_to_ids(list(_SPECIALS))
    codec = MimiConfig(
        hidden_size=16, num_filters=4, num_residual_layers=1, upsampling_ratios=[8, 6, 5, 4], upsample_groups=16,
        codebook_size=_CODES, codebook_dim=16, vector_quantization_hidden_dimension=16, num_quantizers=_CODEBOOKS,
        num_semantic_quantizers=1, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=2, head_dim=8,
        intermediate_size=32, sliding_window=16, use_cache=False,
    )
    depth_decoder = dict(
        num_codebooks=_CODEBOOKS, backbone_hidden_size=32, vocab_size=_CODES, hidden_size=32, intermediate_size=64,
        num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=_CODEBOOKS + 1,
    )
    config = CsmConfig(
        num_codebooks=_CODEBOOKS, vocab_size=_CODES, text_vocab_size=len(tokenizer), hidden_size=32,
        intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
        max_position_embeddings=2048, bos_token_id=bos, pad_token_id=audio, eos_token_id=None,
        audio_token_id=audio, audio_eos_token_id=audio_eos, codebook_pad_token_id=_CODES - 1, codebook_eos_token_id=0,
        depth_decoder_config=depth_decoder, codec_config=codec.to_dict(),
    )
    model = CsmForConditionalGeneration(config).eval()
    # Mimi's codebooks start as zeros (trained ones are k-means centroids), which would quantize every
    # recording to code 0, the end-of-audio frame: random centroids give each recording its own codes.
    for name, buffer in model.codec_model.named_buffers():
        if name.endswith("codebook.embed_sum"):
            buffer.copy_(torch.randn_like(buffer))
    model.save_pretrained(folder)
    features = EncodecFeatureExtractor(feature_size=1, sampling_rate=codec.sampling_rate)
    CsmProcessor(features, tokenizer, chat_template=_CHAT_TEMPLATE).save_pretrained(folder)

"""A tiny random-weight instruct causal LM: a 2-layer Llama with a ChatML tokenizer.

The tokenizer is a byte-level BPE trained on the corpus, so any text (accents,
emoji) encodes and decodes losslessly while the corpus' words are single tokens,
which keeps sampled output and the next-token view readable. A Llama config
keeps `AutoTokenizer` on the tokenizer as trained (a Qwen2 config would swap in
Qwen's pre-tokenizer). `max_position_embeddings` is 256 (and so is
`model_max_length`) so that a few chat turns are enough to overflow the context.

The generation config stops on `<|im_end|>` or `<|endoftext|>`, as Qwen's
instruct models do, and suppresses `<|im_start|>` (a reply never opens a turn)
and the pieces that print as noise on their own (lone bytes of a multi-byte
character, control characters). Random weights give near-uniform logits, so
replies are corpus pieces in random order and usually run to `max_new_tokens`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from studio.tiny.corpus import SENTENCES

_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

# ChatML; list contents (e.g. [{"type": "text", "text": ...}]) keep their text parts
_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['content'] is string %}{{- message['content'] }}"
    "{%- else %}{%- for part in message['content'] if part['type'] == 'text' %}{{- part['text'] }}{%- endfor %}"
    "{%- endif %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def _train_tokenizer() -> PreTrainedTokenizerFast:
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1000,  # an upper bound: the corpus runs out of merges at about 660
        special_tokens=list(_SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(SENTENCES, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=["<|im_start|>"],
        chat_template=_CHAT_TEMPLATE,
        model_max_length=256,
    )


def build(folder: Path) -> None:
    torch.manual_seed(0)
    tokenizer = _train_tokenizer()
    endoftext, im_start, im_end = tokenizer.convert_tokens_to_ids(list(_SPECIALS))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=None,
        eos_token_id=im_end,
        pad_token_id=endoftext,
        tie_word_embeddings=False,  # tied, a random model tends to repeat its last token
    )
    model = LlamaForCausalLM(config).eval()
    pieces = tokenizer.batch_decode([[i] for i in range(len(tokenizer))])
    noise = [i for i, piece in enumerate(pieces) if "\ufffd" in piece or not piece.isprintable() and piece != "\n"]
    model.generation_config = GenerationConfig(
        eos_token_id=[im_end, endoftext],
        pad_token_id=endoftext,
        suppress_tokens=sorted({*noise, im_start}),
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)

"""What the tiny Gemma models share: Gemma 2's chat template, a tokenizer with Gemma's turn markers.

Gemma 2's chat template is copied from the real model: it has no system role
(it raises "System role not supported") and names the assistant `model`. Gemma 3
4B and up are multimodal (`Gemma3ForConditionalGeneration`, a SigLIP vision tower
beside the language model): their context length sits in `text_config`, not at the
top of the config. The tokenizer is the corpus-trained byte-level BPE of the tiny
chat model with Gemma's turn markers.
"""

from __future__ import annotations

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GenerationConfig, PreTrainedTokenizerFast

from studio.tiny.corpus import SENTENCES

_SPECIALS = ("<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>", "<image_soft_token>")

# google/gemma-2-2b-it's template, as published.
GEMMA2_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
)


def tokenizer(model_max_length: int) -> PreTrainedTokenizerFast:
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=list(_SPECIALS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(SENTENCES, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe, pad_token="<pad>", eos_token="<eos>", bos_token="<bos>",
        extra_special_tokens=["<start_of_turn>", "<end_of_turn>", "<image_soft_token>"],
        chat_template=GEMMA2_TEMPLATE, model_max_length=model_max_length,
    )


def text_config(tokenizer) -> dict:
    return dict(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=256,
                pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.convert_tokens_to_ids("<end_of_turn>"),
                bos_token_id=tokenizer.bos_token_id)


def generation_config(tokenizer) -> GenerationConfig:
    end = tokenizer.convert_tokens_to_ids(["<end_of_turn>", "<eos>"])
    return GenerationConfig(eos_token_id=end, pad_token_id=tokenizer.pad_token_id,
                            suppress_tokens=tokenizer.convert_tokens_to_ids(["<start_of_turn>", "<image_soft_token>"]))

"""SmolLM2-360M-Instruct architecture: Llama, 32 layers, hidden 960, 15 heads (5 KV)."""

from pathlib import Path

import torch
from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

from bench.real import copy_files
from studio import tiny


def build(folder: Path) -> None:
    torch.manual_seed(0)
    source = tiny.ensure("chat")
    copy_files(source, folder, ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"])
    small = LlamaConfig.from_pretrained(source)
    config = LlamaConfig(
        vocab_size=small.vocab_size, hidden_size=960, intermediate_size=2560, num_hidden_layers=32,
        num_attention_heads=15, num_key_value_heads=5, max_position_embeddings=8192, rope_theta=100000.0,
        tie_word_embeddings=True, bos_token_id=small.bos_token_id, eos_token_id=small.eos_token_id,
        pad_token_id=small.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    GenerationConfig.from_pretrained(source).save_pretrained(folder)

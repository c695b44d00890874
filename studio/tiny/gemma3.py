"""A tiny random-weight Gemma 3 multimodal model (the 4B-and-up class: a SigLIP tower beside the LM).

Its context length sits in `text_config` (128 positions here), not at the top of
the config, and its tokenizer sets no limit of its own.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import Gemma3Config, Gemma3ForConditionalGeneration

from studio.tiny.gemma import generation_config, text_config, tokenizer


def build(folder: Path) -> None:
    torch.manual_seed(0)
    words = tokenizer(model_max_length=int(1e30))
    text = {**text_config(words), "max_position_embeddings": 128, "sliding_window": 64}
    vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                  image_size=28, patch_size=14)
    config = Gemma3Config(text_config=text, vision_config=vision, mm_tokens_per_image=4,
                          image_token_index=words.convert_tokens_to_ids("<image_soft_token>"))
    model = Gemma3ForConditionalGeneration(config).eval()
    model.generation_config = generation_config(words)
    model.save_pretrained(folder)
    words.save_pretrained(folder)

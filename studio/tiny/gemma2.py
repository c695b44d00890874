"""A tiny random-weight Gemma 2 chat model, with Gemma 2's real chat template (no system role)."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import Gemma2Config, Gemma2ForCausalLM

from studio.tiny.gemma import generation_config, text_config, tokenizer


def build(folder: Path) -> None:
    torch.manual_seed(0)
    words = tokenizer(model_max_length=256)
    model = Gemma2ForCausalLM(Gemma2Config(**text_config(words), sliding_window=64)).eval()
    model.generation_config = generation_config(words)
    model.save_pretrained(folder)
    words.save_pretrained(folder)

"""MMS-TTS architecture (VitsConfig's defaults are facebook/mms-tts-eng's)."""

from pathlib import Path

import torch
from transformers import VitsConfig, VitsModel

from bench.real import copy_files
from studio import tiny


def build(folder: Path) -> None:
    torch.manual_seed(0)
    source = tiny.ensure("tts")
    copy_files(source, folder, ["vocab.json", "tokenizer_config.json", "special_tokens_map.json"])
    small = VitsConfig.from_pretrained(source)
    VitsModel(VitsConfig(vocab_size=small.vocab_size, pad_token_id=0, sampling_rate=16000)).save_pretrained(folder)

"""whisper-base architecture: d_model 512, 6+6 layers, 8 heads, 80 mel bins."""

from pathlib import Path

import torch
from transformers import GenerationConfig, WhisperConfig, WhisperForConditionalGeneration

from bench.real import copy_files
from studio import tiny


def build(folder: Path) -> None:
    torch.manual_seed(0)
    source = tiny.ensure("whisper")
    for path in source.iterdir():
        if path.suffix != ".safetensors" and path.name not in ("config.json", "generation_config.json", ".complete"):
            copy_files(source, folder, [path.name])
    small = WhisperConfig.from_pretrained(source)
    config = small.to_dict()
    config.update(d_model=512, encoder_layers=6, decoder_layers=6, encoder_attention_heads=8, decoder_attention_heads=8,
                  encoder_ffn_dim=2048, decoder_ffn_dim=2048, max_target_positions=448)
    WhisperForConditionalGeneration(WhisperConfig(**config)).save_pretrained(folder)
    GenerationConfig.from_pretrained(source).save_pretrained(folder)

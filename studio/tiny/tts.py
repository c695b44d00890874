"""A tiny MMS-TTS (`VitsModel`) reading English and French characters."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import VitsConfig, VitsModel, VitsTokenizer

# Id 0 is the blank that `add_blank=True` puts between characters. Real MMS
# checkpoints spell text with plain characters (phonemize=False), so the vocab is
# the alphabet itself; with normalize=True the tokenizer lowercases and drops
# anything not listed here (emoji, unknown symbols) instead of mapping it to <unk>.
_SPECIALS = ("<pad>", "<unk>")
_LETTERS = "abcdefghijklmnopqrstuvwxyz" + "éèêëàâäùûüçôöîïÿæœ"
_CHARACTERS = _LETTERS + "0123456789" + " '-.,?!:;\""


def build(folder: Path, **speakers) -> None:
    """The voice; `speakers` (num_speakers=, speaker_embedding_size=) makes it a multi-speaker one."""
    torch.manual_seed(0)
    vocab = {token: i for i, token in enumerate([*_SPECIALS, *_CHARACTERS])}
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps(vocab, ensure_ascii=False, indent=1), encoding="utf-8")
    tokenizer = VitsTokenizer(
        vocab_file=str(vocab_file), phonemize=False, add_blank=True, normalize=True, language=None
    )
    tokenizer.save_pretrained(folder)

    # upsample_rates multiply to 256, the real MMS hop length, so one predicted
    # frame is 16 ms of audio as in the real model.
    config = VitsConfig(
        vocab_size=len(vocab),
        pad_token_id=0,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        ffn_dim=32,
        flow_size=16,
        spectrogram_bins=65,
        upsample_initial_channel=32,
        upsample_rates=[8, 8, 2, 2],
        upsample_kernel_sizes=[16, 16, 4, 4],
        resblock_kernel_sizes=[3],
        resblock_dilation_sizes=[[1, 3]],
        duration_predictor_filter_channels=16,
        duration_predictor_num_flows=1,
        prior_encoder_num_flows=1,
        prior_encoder_num_wavenet_layers=1,
        posterior_encoder_num_wavenet_layers=1,
        sampling_rate=16_000,
        **speakers,
    )
    model = VitsModel(config)
    # Random HiFi-GAN weights drive the final tanh into a clipped full-scale square
    # wave; a smaller last layer keeps the tiny voice a moderate noise instead.
    with torch.no_grad():
        model.decoder.conv_post.weight.mul_(0.1)
    model.save_pretrained(folder)

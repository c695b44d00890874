"""A tiny multi-speaker VITS: the tiny MMS-TTS voice with four learned speaker embeddings.

VCTK-style VITS checkpoints have `num_speakers > 1`; each speaker's embedding
conditions the duration predictor, the flow and the vocoder, so speakers differ
in rhythm and timbre even with random weights.
"""

from __future__ import annotations

from pathlib import Path

from studio.tiny.tts import build as build_voice

SPEAKERS = 4


def build(folder: Path) -> None:
    build_voice(folder, num_speakers=SPEAKERS, speaker_embedding_size=8)

"""Peer engines, where installed: the studio against the engine a user would otherwise pick.

- faster-whisper (CTranslate2): the same whisper-base architecture and weights,
  converted with CTranslate2's own converter, on the CPU in float32 (the studio's
  format here) and in int8 (what faster-whisper users run), greedy decoding, no
  fallback or VAD on either side, on the same long input.

A peer that is not installed gives a row saying so (`pip install faster-whisper`);
the project does not depend on any of them.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile

from bench.audio import _long_input
from bench.common import side_by_side


def run(quick: bool, *, preset: str, real_size: bool) -> list[dict]:
    from studio import Studio

    studio = Studio(preset=preset, outputs=tempfile.mkdtemp())
    return faster_whisper(studio, minutes=0.5 if quick else 2, runs=1 if quick else 3)


def faster_whisper(studio, *, minutes: float, runs: int) -> list[dict]:
    if importlib.util.find_spec("faster_whisper") is None or importlib.util.find_spec("ctranslate2") is None:
        return [{"name": "speech_to_text / faster-whisper", "note": "faster-whisper is not installed: pip install faster-whisper"}]
    import ctranslate2.converters
    from faster_whisper import WhisperModel

    source = studio.model_ref("transcribe")
    converted = os.path.join(tempfile.mkdtemp(), "ct2")
    shipped = [name for name in ("tokenizer.json", "preprocessor_config.json") if os.path.exists(os.path.join(source, name))]
    ctranslate2.converters.TransformersConverter(source, copy_files=shipped).convert(converted, quantization="float32")
    audio = _long_input(minutes)
    language = studio.speech_to_text((16_000, audio)).language  # loads the model, fixes the language
    counts: dict[str, int] = {}

    def studio_call():
        counts["studio"] = len(studio.speech_to_text((16_000, audio), batch_size=8, language=language, vad=False).segments)

    rows = []
    for compute_type in ("float32", "int8"):
        peer = WhisperModel(converted, device="cpu", compute_type=compute_type, cpu_threads=os.cpu_count() or 1)

        def peer_call(peer=peer):
            segments, _ = peer.transcribe(audio, language=language, beam_size=1, temperature=0.0, vad_filter=False,
                                          condition_on_previous_text=False, compression_ratio_threshold=None,
                                          log_prob_threshold=None, no_speech_threshold=None)
            counts["peer"] = len(list(segments))

        row = side_by_side(f"speech_to_text {minutes:g} min, studio / faster-whisper {compute_type} (greedy)",
                           studio_call, peer_call, runs=runs, note="target <= 0.75 against int8" if compute_type == "int8" else "")
        row["note"] = (f"{row['note']}; segments: studio {counts['studio']}, faster-whisper {counts['peer']} (random "
                       "weights: the texts differ, so the work per window may too)").lstrip("; ")
        rows.append(row)
    return rows

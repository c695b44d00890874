"""Audio: batched long-audio transcription against one window at a time; speech and music overhead.

- Transcription: the studio decodes the 30 s windows of a long input in batches;
  the baseline is the naive loop over the same windows with raw transformers
  (processor, then `generate` for one window at a time). Same windows, same
  greedy decoding, so the same transcript: the row says whether it was.
- Speech and music: the studio call against the raw transformers call it wraps
  (same seed, same settings): the studio's own overhead.
"""

from __future__ import annotations

import numpy as np

from bench.common import raw_format, raw_int8, side_by_side, value_row

SENTENCE = "The quick brown fox jumps over the lazy dog."


def _long_input(minutes: float, rate: int = 16_000) -> np.ndarray:
    """Noise with a slow tone on top: sound in every window (no window is skipped as silent)."""
    count = int(minutes * 60 * rate)
    tone = 0.1 * np.sin(2 * np.pi * 220 * np.arange(count) / rate)
    return (tone + 0.05 * np.random.default_rng(0).standard_normal(count)).astype(np.float32)


def transcription(studio, *, minutes: float, runs: int) -> list[dict]:
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    from pipelines.transcribe import SpeechToText, windows

    model = studio.model_ref("transcribe")
    processor = WhisperProcessor.from_pretrained(model)
    loaded = WhisperForConditionalGeneration.from_pretrained(model, use_safetensors=True, **raw_format(studio, "speech_to_text"))
    raw = raw_int8(studio, loaded.eval(), "speech_to_text", SpeechToText.int8_parts)
    audio = _long_input(minutes)
    cuts = windows(audio, 16_000, processor.feature_extractor.n_samples)
    first = studio.speech_to_text((16_000, audio), batch_size=8)  # loads the model, fixes the language
    texts: list[str] = []

    def studio_call():
        return studio.speech_to_text((16_000, audio), batch_size=8, language=first.language)

    def raw_call():
        import torch

        texts.clear()
        for window in cuts:
            features = processor(audio[window.start : window.end], sampling_rate=16_000, return_tensors="pt")
            with torch.no_grad():
                ids = raw.generate(
                    features.input_features.to(raw.dtype),
                    return_timestamps=True,
                    task="transcribe",
                    language=first.language,
                    num_beams=1,
                    force_unique_generate_call=True,
                )
            texts.append(processor.decode(ids[0], skip_special_tokens=True))

    row = side_by_side(
        f"speech_to_text {minutes:g} min ({len(cuts)} windows), batches of 8 / one window at a time (raw)",
        studio_call,
        raw_call,
        runs=runs,
    )
    same = " ".join(studio_call().text.split()) == " ".join(" ".join(texts).split())
    row["note"] = f"speed-up x{1 / row['ratio']:.2f}; same transcript: {'yes' if same else 'NO'}"
    return [
        row,
        value_row(
            "batched transcription speed-up over one window at a time",
            1 / row["ratio"],
            unit="x",
            note=f"{len(cuts)} windows of 30 s",
        ),
    ]


def speech(studio, *, runs: int) -> dict:
    import torch
    from transformers import VitsModel, VitsTokenizer

    voices = studio.preset.voices()
    model = studio.model_ref("speech", voices[next(iter(voices))])
    tokenizer = VitsTokenizer.from_pretrained(model)
    raw = VitsModel.from_pretrained(model, use_safetensors=True, **raw_format(studio, "text_to_speech")).eval()
    studio.text_to_speech(SENTENCE, seed=1)

    def raw_call():
        torch.manual_seed(1)
        with torch.no_grad():
            raw(**tokenizer(SENTENCE, return_tensors="pt"))

    return side_by_side(
        "text_to_speech, one sentence: studio / raw VitsModel",
        lambda: studio.text_to_speech(SENTENCE, seed=1),
        raw_call,
        runs=runs,
        note="target <= 1.05",
    )


def music(studio, *, seconds: float, runs: int) -> dict:
    import torch
    from transformers import AutoProcessor, MusicgenForConditionalGeneration

    from pipelines.music import TextToMusic

    model = studio.model_ref("music")
    processor = AutoProcessor.from_pretrained(model)
    loaded = MusicgenForConditionalGeneration.from_pretrained(model, use_safetensors=True, **raw_format(studio, "music"))
    raw = raw_int8(studio, loaded.eval(), "music", TextToMusic.int8_parts)
    tokens = round(seconds * raw.config.audio_encoder.frame_rate) + raw.config.decoder.num_codebooks - 1
    studio.text_to_music("calm piano", duration=seconds, seed=1)

    def raw_call():
        torch.manual_seed(1)
        with torch.no_grad():
            raw.generate(
                **processor(text=["calm piano"], padding=True, return_tensors="pt"),
                do_sample=True,
                guidance_scale=3.0,
                top_k=250,
                max_new_tokens=tokens,
            )

    return side_by_side(
        f"text_to_music {seconds:g} s: studio / raw MusicGen generate",
        lambda: studio.text_to_music("calm piano", duration=seconds, seed=1),
        raw_call,
        runs=runs,
        note="target <= 1.05",
    )


def run(quick: bool, preset: str = "tiny", real_size: bool = False) -> list[dict]:
    from studio import Studio

    studio = Studio(preset=preset)
    runs = 3 if real_size else 5
    rows = transcription(studio, minutes=5 if real_size else 10, runs=runs)
    rows.append(speech(studio, runs=runs))
    rows.append(music(studio, seconds=2, runs=runs))
    return rows

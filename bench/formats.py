"""Number formats and previews: the studio's automatic format against float32, int8's token cost, preview cost.

Each row alternates two studios in one process: the default one (its format
chosen from this CPU's units, pipelines.devices) and one asked for float32 (what
the studio ran before formats were chosen). On a CPU without bfloat16 or int8
units both are float32 and the ratios are 1 within noise; the note says which
units were found. The int8 rows always run int8 (asked for), so its token cost
is stated on any CPU.
"""

from __future__ import annotations

import numpy as np

from bench.common import TOKENS_PER_WINDOW, side_by_side, transcribe_preset, value_row, whisper_decoding_every_token

PROMPTS = [
    "Once upon a time there was a fox who",
    "The capital of France is",
    "def fibonacci(n):",
    "Les chats dorment beaucoup parce que",
    "In 1969 the first astronauts",
    "A recipe for bread needs",
    "The best way to learn to draw is",
    "Water boils at a temperature of",
]


def units_note() -> str:
    from pipelines.devices import cpu_units

    found = sorted(cpu_units())
    return "CPU units: " + (", ".join(found) if found else "none (float32 everywhere by default)")


def speedups(default, fp32, *, size: int, steps: int, runs: int) -> list[dict]:
    """Every operation, default studio / float32 studio."""
    from bench.audio import SENTENCE

    chat = [{"role": "user", "content": "Tell me a story about a fox."}]
    works = {  # name: (work, the model kind whose format it runs in, target)
        f"text_to_image {size}x{size}, {steps} steps": (
            lambda s: s.text_to_image("a red fox", seed=1, steps=steps, guidance=0.0, width=size, height=size),
            "diffusion", "target <= 0.40"),
        "chat, 64 new tokens": (lambda s: s.chat(chat, seed=1, temperature=0, max_new_tokens=64), "language_model",
                                "target <= 0.45"),
        "chat, time to first token": (lambda s: s.chat(chat, seed=1, temperature=0, max_new_tokens=1), "language_model",
                                      "target <= 0.40"),
        "text_to_speech, one sentence": (lambda s: s.text_to_speech(SENTENCE, seed=1), "text_to_speech",
                                         "target <= 0.50"),
        "text_to_music 2 s": (lambda s: s.text_to_music("calm piano", duration=2, seed=1), "music", ""),
    }
    rows = []
    for name, (work, kind, target) in works.items():
        formats = f"{default.dtype(kind)} vs float32"
        rows.append(side_by_side(f"{name}: default format / float32", lambda w=work: w(default), lambda w=work: w(fp32),
                                 runs=runs, note=f"{target}; {formats}".strip("; ")))
    return rows


def transcription_speedup(model: str, *, minutes: float, runs: int) -> dict:
    """Whisper, default studio / float32 studio, on equal work: a copy of `model` that decodes
    `TOKENS_PER_WINDOW` tokens in every window (random weights end windows early, at moments that
    differ between formats) and the windows of the whole input (no VAD, which finds no speech in it)."""
    from bench.audio import _long_input
    from studio import Studio

    preset = transcribe_preset(whisper_decoding_every_token(model, TOKENS_PER_WINDOW))
    default, fp32 = Studio(preset=preset), Studio(preset=preset, dtype="float32")
    audio = (16_000, _long_input(minutes))

    def work(studio):
        return studio.speech_to_text(audio, batch_size=8, language="en", vad=False, timestamps=False)

    return side_by_side(f"speech_to_text {minutes:g} min, {TOKENS_PER_WINDOW} tokens a window, batches of 8: "
                        "default format / float32", lambda: work(default), lambda: work(fp32), runs=runs,
                        note=f"{default.dtype('speech_to_text')} vs float32")


def int8_tokens(preset: str, *, tokens: int) -> list[dict]:
    """Greedy tokens with int8 weights against float32's, over PROMPTS: how many of the first `tokens` agree."""
    import torch

    from pipelines.text import LanguageModel
    from studio import Studio

    model = Studio(preset=preset).model_ref("text")
    fp32 = LanguageModel.from_pretrained(model, device="cpu", dtype="float32")
    int8 = LanguageModel.from_pretrained(model, device="cpu", dtype="int8")
    agree, prefix = [], []
    for prompt in PROMPTS:
        ids = fp32.tokenizer(prompt, return_tensors="pt")
        outputs = []
        for lm in (fp32, int8):
            with torch.inference_mode():
                out = lm.model.generate(**ids, do_sample=False, max_new_tokens=tokens, min_new_tokens=tokens)
            outputs.append(out[0, ids["input_ids"].shape[1]:])
        same = (outputs[0] == outputs[1]).to(torch.int64)
        agree.append(float(same.float().mean()))
        prefix.append(int(same.cumprod(0).sum()))
    return [
        value_row(f"int8 greedy tokens equal to float32's, first {tokens} of {len(PROMPTS)} prompts", float(np.mean(agree)),
                  unit="share", note=f"identical prefix: median {int(np.median(prefix))} tokens (min {min(prefix)})"),
    ]


def preview_cost(studio, *, size: int, steps: int, runs: int) -> dict:
    """A generation watched with a preview every step / the same generation unwatched."""
    from pipelines.image import TextToImage

    def watched():
        studio.text_to_image("a red fox", seed=1, steps=steps, guidance=0.0, width=size, height=size,
                             callback=lambda *a: None)

    def plain():
        studio.text_to_image("a red fox", seed=1, steps=steps, guidance=0.0, width=size, height=size)

    with studio._use("text_to_image", studio.model_ref("image"), TextToImage.from_pretrained) as pipe:
        decoder = "tiny autoencoder" if pipe.preview_decoder is not None else "full VAE (no tiny autoencoder found)"
        pipe.pipe.set_progress_bar_config(disable=True)
    return side_by_side(f"text_to_image {size}x{size}, {steps} steps: previews every step / none", watched, plain,
                        runs=runs, note=f"target <= 1.05; previews through the {decoder}")


def run(quick: bool, preset: str = "tiny", real_size: bool = False) -> list[dict]:
    from pipelines.devices import cpu_units
    from studio import Studio

    runs = 3
    default, fp32 = Studio(preset=preset), Studio(preset=preset, dtype="float32")
    size = 512 if real_size else 64
    rows = [value_row("number units found on this CPU", len(cpu_units()), unit="units", note=units_note())]
    rows += speedups(default, fp32, size=size, steps=2, runs=runs)
    rows.append(transcription_speedup(default.model_ref("transcribe"), minutes=2 if real_size else 0.5, runs=runs))
    rows.append(preview_cost(default, size=size, steps=4, runs=runs))
    rows += int8_tokens(preset, tokens=32 if real_size else 16)
    return rows

"""`python -m bench --gpu`: every operation on CUDA, studio against the raw library, in one short run.

Prepared to run in one shot on a machine lent with a GPU: it builds the
random-weight models of the real architectures (bench/real) if they are not
built, measures each operation in the studio's automatic CUDA format (float16;
bfloat16 for the language model) against the raw library in the same format,
alternating, and writes its table into the "## GPU" section of BENCHMARKS.md
(the CPU sections are left as they are; a later CPU run keeps this section).
Its work is sized to finish in under 4 minutes on one datacenter GPU; past
`BUDGET_S` the remaining rows are skipped and say so. Without CUDA it says so
and exits 0, measuring nothing.
"""

from __future__ import annotations

import datetime
import os
import re
import sys
import time
import traceback
from pathlib import Path

from bench.common import row, value_row

BUDGET_S = 210  # measuring stops here, leaving room for the models' first load within 4 minutes
RUNS = 3
SECTION = "## GPU"


def main(output: Path) -> int:
    import torch

    if not torch.cuda.is_available():
        print("python -m bench --gpu: no CUDA GPU on this machine; nothing measured, BENCHMARKS.md unchanged.")
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    from bench import real
    from bench.__main__ import format_row, real_preset

    for name in real.MODULES:  # built once into the cache; reported apart from the measurements
        real.ensure(name)
    print(f"models ready in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    from studio import Studio

    studio = Studio(preset=real_preset(), device="cuda")
    rows, clock = [], time.perf_counter()
    for measure in (image, image_large, chat, transcribe, speech, music):
        if time.perf_counter() - clock > BUDGET_S:
            rows.append({"name": f"{measure.__name__}: skipped", "note": f"past the {BUDGET_S} s budget"})
            continue
        try:
            rows += measure(studio)
        except Exception:
            rows.append({"name": f"{measure.__name__}: failed", "note": traceback.format_exc().strip().splitlines()[-1]})
        print("  ", format_row(rows[-1]), file=sys.stderr, flush=True)
        studio.unload()
        torch.cuda.empty_cache()
    write(output, render(rows, torch.cuda.get_device_name(0), time.perf_counter() - start))
    print(f"wrote the GPU section of {output} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


def alternate(name: str, studio_call, raw_call, *, note: str = "") -> dict:
    """Medians over RUNS alternating runs after one warm-up each, timed to the GPU's end of work."""
    import torch

    def timed(fn) -> float:
        torch.cuda.synchronize()
        begin = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        return time.perf_counter() - begin

    studio_call(), raw_call()
    studio_times, raw_times = [], []
    for _ in range(RUNS):
        studio_times.append(timed(studio_call))
        raw_times.append(timed(raw_call))
    return row(name, studio_times, raw_times, note=note)


def _dtype(studio, kind: str):
    import torch

    return getattr(torch, studio.dtype(kind))


def image(studio) -> list[dict]:
    import torch
    from diffusers import StableDiffusionPipeline

    model = studio.model_ref("image")
    raw = StableDiffusionPipeline.from_pretrained(model, dtype=_dtype(studio, "diffusion"), use_safetensors=True).to("cuda")
    raw.set_progress_bar_config(disable=True)

    def studio_call():
        studio.text_to_image("a red fox", seed=1, steps=2, guidance=0.0, width=512, height=512)

    def raw_call():
        raw("a red fox", num_inference_steps=2, guidance_scale=0.0, width=512, height=512,
            generator=torch.Generator("cuda").manual_seed(1))

    result = alternate("text_to_image 512x512, 2 steps: studio / raw diffusers", studio_call, raw_call,
                       note=f"{studio.dtype('diffusion')} both; target <= 1.03")
    watched = alternate(
        "text_to_image 512x512, 4 steps: previews every step / none",
        lambda: studio.text_to_image("a red fox", seed=1, steps=4, guidance=0.0, width=512, height=512, callback=lambda *a: None),
        lambda: studio.text_to_image("a red fox", seed=1, steps=4, guidance=0.0, width=512, height=512),
        note="target <= 1.05")
    return [result, watched]


def image_large(studio) -> list[dict]:
    """1024x1024 on a 512 model: the VAE decodes in tiles (bounded memory); peak memory is reported."""
    import torch

    torch.cuda.reset_peak_memory_stats()
    begin = time.perf_counter()
    studio.text_to_image("a red fox", seed=1, steps=2, guidance=0.0, width=1024, height=1024)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - begin
    peak = torch.cuda.max_memory_allocated() / 1e9
    return [value_row("text_to_image 1024x1024, 2 steps (VAE tiling): seconds", seconds, unit="s",
                      note=f"peak GPU memory {peak:.2f} GB (first call at this size)")]


def chat(studio) -> list[dict]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = studio.model_ref("text")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    raw = AutoModelForCausalLM.from_pretrained(folder, dtype=_dtype(studio, "language_model"), use_safetensors=True).to("cuda").eval()
    messages = [{"role": "user", "content": "Tell me a story about a fox."}]
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True).to("cuda")
    rows = []
    for tokens, label in ((64, "reply of 64 tokens"), (1, "time to first token")):
        def raw_call(n=tokens):
            with torch.inference_mode():
                raw.generate(**inputs, do_sample=False, max_new_tokens=n, min_new_tokens=n)

        rows.append(alternate(f"chat, {label}: studio / raw generate",
                              lambda n=tokens: studio.chat(messages, seed=1, temperature=0, max_new_tokens=n), raw_call,
                              note=f"{studio.dtype('language_model')} both; greedy"))
    return rows


def transcribe(studio) -> list[dict]:
    import numpy as np
    import torch
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    from bench.audio import _long_input

    folder = studio.model_ref("transcribe")
    processor = WhisperProcessor.from_pretrained(folder)
    raw = WhisperForConditionalGeneration.from_pretrained(folder, dtype=_dtype(studio, "speech_to_text"), use_safetensors=True).to("cuda").eval()
    audio = _long_input(2.0)
    language = studio.speech_to_text((16_000, audio), batch_size=8).language
    window = processor.feature_extractor.n_samples
    pieces = [audio[i : i + window] for i in range(0, len(audio), window)]

    def raw_call():
        features = processor(pieces, sampling_rate=16_000, return_tensors="pt").input_features.to("cuda", raw.dtype)
        with torch.inference_mode():
            raw.generate(features, task="transcribe", language=language, num_beams=1, return_timestamps=True)

    note = f"{studio.dtype('speech_to_text')} both; raw: fixed 30 s windows in one batch ({len(pieces)}); {np.float32(len(audio) / 16_000):.0f} s"
    result = alternate("speech_to_text 2 min, batches of 8: studio / raw generate", lambda: studio.speech_to_text(
        (16_000, audio), batch_size=8, language=language), raw_call, note=note)
    return [result]


def speech(studio) -> list[dict]:
    import torch
    from transformers import VitsModel, VitsTokenizer

    from bench.audio import SENTENCE

    voices = studio.preset.voices()
    folder = studio.model_ref("speech", voices[next(iter(voices))])
    tokenizer = VitsTokenizer.from_pretrained(folder)
    raw = VitsModel.from_pretrained(folder, dtype=_dtype(studio, "text_to_speech"), use_safetensors=True).to("cuda").eval()
    ids = tokenizer(SENTENCE, return_tensors="pt").to("cuda")

    def raw_call():
        torch.manual_seed(1)
        with torch.inference_mode():
            raw(**ids)

    result = alternate("text_to_speech, one sentence: studio / raw VitsModel", lambda: studio.text_to_speech(SENTENCE, seed=1),
                       raw_call, note=f"{studio.dtype('text_to_speech')} both; target <= 1.05")
    return [result]


def music(studio) -> list[dict]:
    import torch
    from transformers import AutoProcessor, MusicgenForConditionalGeneration

    folder = studio.model_ref("music")
    processor = AutoProcessor.from_pretrained(folder)
    raw = MusicgenForConditionalGeneration.from_pretrained(folder, dtype=_dtype(studio, "music"), use_safetensors=True).to("cuda").eval()
    tokens = round(2 * raw.config.audio_encoder.frame_rate) + raw.config.decoder.num_codebooks - 1
    inputs = processor(text=["calm piano"], padding=True, return_tensors="pt").to("cuda")

    def raw_call():
        torch.manual_seed(1)
        with torch.inference_mode():
            raw.generate(**inputs, do_sample=True, guidance_scale=3.0, top_k=250, max_new_tokens=tokens)

    result = alternate("text_to_music 2 s: studio / raw MusicGen generate",
                       lambda: studio.text_to_music("calm piano", duration=2, seed=1), raw_call,
                       note=f"{studio.dtype('music')} both; target <= 1.05")
    return [result]


def render(rows: list[dict], device: str, seconds: float) -> str:
    import torch

    from bench.__main__ import format_table

    lines = [SECTION, "",
             f"Generated by `python -m bench --gpu` on {datetime.date.today().isoformat()} in {seconds:.0f} s: {device}, "
             f"torch {torch.__version__}, CUDA {torch.version.cuda}. Random weights with the real architectures "
             "(bench/real); studio and raw library in the same format, alternating; medians of "
             f"{RUNS} runs after a warm-up.", ""]
    return "\n".join(lines + format_table(rows)) + "\n"


def write(output: Path, section: str) -> None:
    """Replace the GPU section of `output` (or add it at the end), keeping the rest."""
    text = output.read_text(encoding="utf-8") if output.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    output.write_text(text, encoding="utf-8")


def kept_section(output: Path) -> str:
    """The GPU section already in `output`, for a CPU run that rewrites the file ("" if none)."""
    if not output.exists():
        return ""
    found = re.search(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", output.read_text(encoding="utf-8"), re.S | re.M)
    return found.group(0).rstrip("\n") + "\n" if found else ""

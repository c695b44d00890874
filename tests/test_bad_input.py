"""Bad input, everywhere: every Studio method and every web endpoint.

Each invalid case must raise a `ValueError` whose message names the field (through
the web API: that message reaching gradio_client, with no traceback in the
server's log), write nothing to the outputs folder, and leave the studio working:
after a group's bad requests the next valid one succeeds, and equals the same
request made before them. Odd but valid images and audio must work.

Not repeated here: sample types, rates and channel counts of audio
(tests/test_audio_io.py) and image modes given to image_to_image as PIL images
(tests/test_image.py).
"""

import json
import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from pipelines.image import MAX_PROMPT_CHARS
from pipelines.music import MAX_PROMPT_CHARS as MAX_MUSIC_PROMPT_CHARS
from pipelines.speech import MAX_TEXT_CHARS as MAX_SPEECH_CHARS
from pipelines.text import MAX_MESSAGE_CHARS, MAX_MESSAGES, MAX_TEXT_CHARS
from studio import AudioResult, ImageResult, Studio
from studio.serving.batch import parse_jobs

NAN, INF = math.nan, math.inf
NUL = "\x00" * 5
SURROGATE = "a fox \ud800"  # what a broken decode leaves: not valid Unicode
HI = [{"role": "user", "content": "Bonjour"}]
ENDPOINTS = ["chat", "text_to_text", "next_token", "text_to_image", "xy_plot", "image_to_image", "inpaint", "outpaint",
             "upscale", "vae_latents",
             "text_to_speech", "speech_to_text", "text_to_music", "audio_to_audio"]
NO_INPUT = {"loaded_models", "unload", "preload", "warm_up", "dtype", "voices"}  # Studio methods a caller gives nothing to check


def listing(folder: Path) -> list[str]:
    """Every file under `folder`, hidden ones too (a temporary file left behind counts)."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*")) if Path(folder).exists() else []


def tone(seconds: float = 1.0, rate: int = 16_000, channels: int = 1) -> np.ndarray:
    wave = 0.3 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate)
    return np.repeat(wave[:, None], channels, axis=1) if channels > 1 else wave


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Input files, good and bad, and a few arrays, in one namespace."""
    folder = tmp_path_factory.mktemp("inputs")
    ok = Image.new("RGB", (64, 64), (200, 120, 40))
    ok.save(folder / "ok.png")
    whole = (folder / "ok.png").read_bytes()
    (folder / "half.png").write_bytes(whole[: len(whole) // 2])  # a PNG cut in half
    (folder / "text.png").write_text("hello, I am not an image")
    Image.new("RGB", (1, 1)).save(folder / "one.png")
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    mask.save(folder / "mask.png")
    sf.write(folder / "ok.wav", tone(), 16_000)
    wav = (folder / "ok.wav").read_bytes()
    (folder / "header.wav").write_bytes(wav[:30])  # cut inside its header
    (folder / "text.wav").write_text("hello, I am not audio")
    (folder / "text.flac").write_text("hello, I am not audio either")
    sf.write(folder / "empty.wav", np.zeros(0, dtype=np.float32), 16_000)
    sf.write(folder / "one.wav", np.zeros(1, dtype=np.float32), 16_000)
    sf.write(folder / "nan.wav", np.full(1_600, np.nan, dtype=np.float32), 16_000, subtype="FLOAT")
    jobs = folder / "jobs"
    jobs.mkdir()
    noise = (0.1 * np.random.default_rng(0).standard_normal(3 * 16_000)).astype(np.float32)
    return SimpleNamespace(
        folder=folder, ok=folder / "ok.png", mask=folder / "mask.png", half=folder / "half.png", text_png=folder / "text.png",
        one=folder / "one.png", wav=folder / "ok.wav", header=folder / "header.wav", text_wav=folder / "text.wav",
        text_flac=folder / "text.flac", empty_wav=folder / "empty.wav", one_wav=folder / "one.wav",
        nan_wav=folder / "nan.wav", missing=folder / "missing.png", jobs=jobs, noise=(16_000, noise),
        zero=(16_000, np.zeros(0, dtype=np.float32)), single=(16_000, np.zeros(1, dtype=np.float32)),
        nans=(16_000, np.full(16_000, np.nan, dtype=np.float32)), tone=(16_000, tone()),
    )


def job_file(f, line: str) -> Path:
    path = f.jobs / f"{abs(hash(line))}.jsonl"
    path.write_text(line + "\n")
    return path


# -- the Python matrix: (group, case, call(studio, files), field named in the message) --------

def t2i(**kw):
    return lambda s, f: s.text_to_image(**{"prompt": "a fox", "steps": 1, **kw})


def i2i(**kw):
    return lambda s, f: s.image_to_image(**{"image": f.ok, "prompt": "a fox", "steps": 2, **kw})


def i2i_image(make):
    return lambda s, f: s.image_to_image(make(f), "a fox", steps=2)


def inpaint(**kw):
    return lambda s, f: s.inpaint(**{"image": f.ok, "mask": f.mask, "prompt": "a fox", "steps": 2, **kw})


def outpaint(**kw):
    return lambda s, f: s.outpaint(**{"image": f.ok, "prompt": "a fox", "steps": 2, "left": 8, **kw})


def chat(messages=HI, **kw):
    return lambda s, f: s.chat(messages, **kw)


def t2t(text="Bonjour à tous.", **kw):
    return lambda s, f: s.text_to_text(text, **kw)


def tts(text="Bonjour", **kw):
    return lambda s, f: s.text_to_speech(text, **kw)


def stt(audio=None, **kw):
    return lambda s, f: s.speech_to_text(audio(f) if callable(audio) else f.tone, **kw)


def t2m(prompt="calm piano", **kw):
    return lambda s, f: s.text_to_music(prompt, **{"duration": 0.2, **kw})


def music_more(audio=None, prompt="drums", **kw):
    return lambda s, f: s.continue_music(audio(f) if audio else f.tone, prompt, **{"duration": 0.2, **kw})


def translate(audio=None, **kw):
    return lambda s, f: s.translate_speech(audio(f) if audio else f.noise, **{"language": "en", **kw})


def studio_with(**kw):
    return lambda s, f: Studio(**{"preset": "tiny", "outputs": f.folder / "never", **kw})


def batch(line: str):
    return lambda s, f: parse_jobs(job_file(f, line), Studio)


CASES = [
    # xy_plot: the operation, the axes, the number of cells
    ("xy_plot", "task-unknown", lambda s, f: s.xy_plot("upscale", x=("steps", [1]), prompt="a fox"), "task"),
    ("xy_plot", "x-not-a-pair", lambda s, f: s.xy_plot("text_to_image", x="steps", prompt="a fox"), "x must be"),
    ("xy_plot", "x-unknown-setting", lambda s, f: s.xy_plot("text_to_image", x=("speed", [1]), prompt="a fox"), "x setting"),
    ("xy_plot", "y-no-values", lambda s, f: s.xy_plot("text_to_image", x=("steps", [1]), y=("seed", []), prompt="a fox"),
     "y values"),
    ("xy_plot", "too-many-cells", lambda s, f: s.xy_plot("text_to_image", x=("seed", list(range(9))),
                                                          y=("steps", list(range(1, 10))), prompt="a fox"), "cells"),
    ("xy_plot", "bad-cell-value", lambda s, f: s.xy_plot("text_to_image", x=("steps", [0]), prompt="a fox"), "steps"),
    # control_map and ControlNet entries: images, preprocessors, thresholds, ranges
    ("control_map", "image-missing", lambda s, f: s.control_map(None), "image"),
    ("control_map", "image-cut-in-half", lambda s, f: s.control_map(f.half), "image"),
    ("control_map", "preprocessor-unknown", lambda s, f: s.control_map(f.ok, "hed"), "preprocessor"),
    ("control_map", "threshold-huge", lambda s, f: s.control_map(f.ok, "canny", low=999), "low"),
    ("text_to_image", "control-not-a-list", t2i(control="canny"), "control"),
    ("text_to_image", "control-scale-huge", t2i(control=[{"model": "tiny:controlnet", "image": Image.new("RGB", (64, 64)),
                                                          "scale": 9}]), "scale"),
    ("text_to_image", "hires-not-a-dict", t2i(hires=2), "hires"),
    ("text_to_image", "hires-scale-one", t2i(hires={"scale": 1}), "hires scale"),
    # inpaint and outpaint: masks that do not fit, settings outside their ranges
    ("inpaint", "mask-missing", inpaint(mask=None), "mask"),
    ("inpaint", "mask-other-size", inpaint(mask=Image.new("L", (32, 32), 255)), "mask"),
    ("inpaint", "mask-all-black", inpaint(mask=Image.new("L", (64, 64), 0)), "mask"),
    ("inpaint", "mask-not-an-image", inpaint(mask=42), "mask"),
    ("inpaint", "image-missing", inpaint(image=None), "image"),
    ("inpaint", "image-cut-in-half", lambda s, f: s.inpaint(f.half, f.mask, "a fox"), "image"),
    ("inpaint", "mask-blur-negative", inpaint(mask_blur=-1), "mask_blur"),
    ("inpaint", "area-unknown", inpaint(inpaint_area="everything"), "inpaint_area"),
    ("inpaint", "mode-unknown", inpaint(mask_mode="inside"), "mask_mode"),
    ("inpaint", "padding-nan", inpaint(padding=NAN), "padding"),
    ("inpaint", "strength-zero", inpaint(strength=0), "strength"),
    ("outpaint", "no-side", outpaint(left=0), "nothing to add"),
    ("outpaint", "side-negative", outpaint(right=-8), "right"),
    ("outpaint", "side-huge", outpaint(up=10**6), "up"),
    ("outpaint", "fill-unknown", outpaint(fill="paint"), "fill"),
    ("outpaint", "empty-prompt", outpaint(prompt=""), "prompt"),
    # text_to_image: prompts, sizes, numbers of every wrong kind
    ("text_to_image", "empty-prompt", t2i(prompt=""), "prompt"),
    ("text_to_image", "whitespace-prompt", t2i(prompt=" \t\n "), "prompt"),
    ("text_to_image", "nul-prompt", t2i(prompt=NUL), "prompt"),
    ("text_to_image", "over-long-prompt", t2i(prompt="x" * (MAX_PROMPT_CHARS + 1)), "prompt"),
    ("text_to_image", "none-prompt", t2i(prompt=None), "prompt"),
    ("text_to_image", "number-prompt", t2i(prompt=42), "prompt"),
    ("text_to_image", "list-prompt", t2i(prompt=["a fox"]), "prompt"),
    ("text_to_image", "lone-surrogate-prompt", t2i(prompt=SURROGATE), "prompt"),
    ("text_to_image", "control-character-prompt", t2i(prompt="a\x07fox"), "prompt"),
    ("text_to_image", "nul-negative", t2i(negative_prompt="a\x00b"), "negative_prompt"),
    ("text_to_image", "over-long-negative", t2i(negative_prompt="x" * (MAX_PROMPT_CHARS + 1)), "negative_prompt"),
    ("text_to_image", "width-not-multiple-of-8", t2i(width=500), "width"),
    ("text_to_image", "width-beyond-max", t2i(width=2056), "width"),
    ("text_to_image", "width-huge", t2i(width=10**9), "width"),
    ("text_to_image", "width-negative", t2i(width=-64), "width"),
    ("text_to_image", "width-string", t2i(width="64"), "width"),
    ("text_to_image", "width-fraction", t2i(width=64.5), "width"),
    ("text_to_image", "width-nan", t2i(width=NAN), "width"),
    ("text_to_image", "height-not-multiple-of-8", t2i(height=100), "height"),
    ("text_to_image", "height-bool", t2i(height=True), "height"),
    ("text_to_image", "steps-zero", t2i(steps=0), "steps"),
    ("text_to_image", "steps-negative", t2i(steps=-1), "steps"),
    ("text_to_image", "steps-beyond-max", t2i(steps=151), "steps"),
    ("text_to_image", "steps-nan", t2i(steps=NAN), "steps"),
    ("text_to_image", "steps-string", t2i(steps="4"), "steps"),
    ("text_to_image", "steps-list", t2i(steps=[4]), "steps"),
    ("text_to_image", "guidance-negative", t2i(guidance=-1), "guidance"),
    ("text_to_image", "guidance-huge", t2i(guidance=1e9), "guidance"),
    ("text_to_image", "guidance-infinite", t2i(guidance=INF), "guidance"),
    ("text_to_image", "guidance-string", t2i(guidance="7.5"), "guidance"),
    ("text_to_image", "batch-zero", t2i(batch_size=0), "batch_size"),
    ("text_to_image", "batch-beyond-max", t2i(batch_size=9), "batch_size"),
    ("text_to_image", "seed-negative", t2i(seed=-2), "seed"),
    ("text_to_image", "seed-huge", t2i(seed=2**32), "seed"),
    ("text_to_image", "seed-fraction", t2i(seed=1.5), "seed"),
    ("text_to_image", "seed-string", t2i(seed="1"), "seed"),
    ("text_to_image", "seed-nan", t2i(seed=NAN), "seed"),
    ("text_to_image", "unknown-scheduler", t2i(scheduler="Fastest"), "scheduler"),
    ("text_to_image", "preview-negative", t2i(preview_every=-1), "preview_every"),
    ("text_to_image", "callback-not-a-function", t2i(callback=5), "callback"),
    # image_to_image: damaged and degenerate images, strength outside (0, 1]
    ("image_to_image", "not-an-image-file", i2i_image(lambda f: f.text_png), "image"),
    ("image_to_image", "png-cut-in-half", i2i_image(lambda f: f.half), "image"),
    ("image_to_image", "lazy-pil-of-a-cut-png", i2i_image(lambda f: Image.open(f.half)), "image"),
    ("image_to_image", "one-pixel", i2i_image(lambda f: f.one), "image"),
    ("image_to_image", "missing-file", i2i_image(lambda f: f.missing), "image"),
    ("image_to_image", "none", i2i_image(lambda f: None), "image"),
    ("image_to_image", "number", i2i_image(lambda f: 42), "image"),
    ("image_to_image", "int64-array", i2i_image(lambda f: np.zeros((64, 64, 3), dtype=np.int64)), "image"),
    ("image_to_image", "five-channel-array", i2i_image(lambda f: np.zeros((64, 64, 5), dtype=np.uint8)), "image"),
    ("image_to_image", "nan-array", i2i_image(lambda f: np.full((64, 64, 3), np.nan)), "image"),
    ("image_to_image", "floats-of-0-to-255", i2i_image(lambda f: np.full((64, 64, 3), 200.0)), "image"),
    ("image_to_image", "too-wide", i2i_image(lambda f: np.zeros((8, 5000, 3), dtype=np.uint8)), "image"),
    ("image_to_image", "strength-zero", i2i(strength=0), "strength"),
    ("image_to_image", "strength-negative", i2i(strength=-0.5), "strength"),
    ("image_to_image", "strength-above-one", i2i(strength=1.5), "strength"),
    ("image_to_image", "strength-nan", i2i(strength=NAN), "strength"),
    ("image_to_image", "strength-string", i2i(strength="0.6"), "strength"),
    ("image_to_image", "strength-leaves-no-step", i2i(strength=0.1, steps=2), "strength"),
    ("image_to_image", "empty-prompt", i2i(prompt=""), "prompt"),
    ("image_to_image", "width-not-multiple-of-8", i2i(width=500), "width"),
    # upscale
    ("upscale", "not-an-image-file", lambda s, f: s.upscale(f.text_png), "image"),
    ("upscale", "one-pixel", lambda s, f: s.upscale(f.one), "image"),
    ("upscale", "none", lambda s, f: s.upscale(None), "image"),
    ("upscale", "scale-three", lambda s, f: s.upscale(f.ok, 3), "scale"),
    ("upscale", "scale-zero", lambda s, f: s.upscale(f.ok, 0), "scale"),
    ("upscale", "scale-string", lambda s, f: s.upscale(f.ok, "2"), "scale"),
    ("upscale", "scale-nan", lambda s, f: s.upscale(f.ok, NAN), "scale"),
    ("upscale", "tile-too-small", lambda s, f: s.upscale(f.ok, tile=16), "tile"),
    ("upscale", "tile-huge", lambda s, f: s.upscale(f.ok, tile=10**6), "tile"),
    ("upscale", "result-beyond-max", lambda s, f: s.upscale(np.zeros((8, 4096, 3), dtype=np.uint8), 4), "scale"),
    # vae_latents
    ("vae_latents", "png-cut-in-half", lambda s, f: s.vae_latents(f.half), "image"),
    ("vae_latents", "not-an-image-file", lambda s, f: s.vae_latents(f.text_png), "image"),
    ("vae_latents", "one-pixel", lambda s, f: s.vae_latents(f.one), "image"),
    ("vae_latents", "none", lambda s, f: s.vae_latents(None), "image"),
    # chat: conversations, then every sampling setting
    ("chat", "empty-text", chat(""), "messages"),
    ("chat", "whitespace-text", chat("  \n "), "messages"),
    ("chat", "nul-text", chat(NUL), "messages"),
    ("chat", "lone-surrogate", chat(SURROGATE), "messages"),
    ("chat", "over-long-message", chat("x" * (MAX_MESSAGE_CHARS + 1)), "messages"),
    ("chat", "none", chat(None), "messages"),
    ("chat", "number", chat(42), "messages"),
    ("chat", "no-messages", chat([]), "messages"),
    ("chat", "too-many-messages", chat(HI * (MAX_MESSAGES + 1)), "messages"),
    ("chat", "unknown-role", chat([{"role": "robot", "content": "hi"}]), "messages"),
    ("chat", "content-none", chat([{"role": "user", "content": None}]), "messages"),
    ("chat", "content-image-part", chat([{"role": "user", "content": [{"type": "image"}]}]), "messages"),
    ("chat", "ends-with-the-assistant", chat([*HI, {"role": "assistant", "content": "Salut"}]), "messages"),
    ("chat", "nul-system-prompt", chat(system_prompt=NUL), "system_prompt"),
    ("chat", "number-system-prompt", chat(system_prompt=42), "system_prompt"),
    ("chat", "temperature-nan", chat(temperature=NAN), "temperature"),
    ("chat", "temperature-negative", chat(temperature=-1), "temperature"),
    ("chat", "temperature-string", chat(temperature="0.7"), "temperature"),
    ("chat", "top-p-zero", chat(top_p=0), "top_p"),
    ("chat", "top-p-above-one", chat(top_p=1.5), "top_p"),
    ("chat", "top-k-zero", chat(top_k=0), "top_k"),
    ("chat", "top-k-fraction", chat(top_k=2.5), "top_k"),
    ("chat", "max-new-tokens-zero", chat(max_new_tokens=0), "max_new_tokens"),
    ("chat", "max-new-tokens-huge", chat(max_new_tokens=10**9), "max_new_tokens"),
    ("chat", "max-new-tokens-past-the-context", chat(max_new_tokens=256), "max_new_tokens"),
    ("chat", "max-new-tokens-bool", chat(max_new_tokens=True), "max_new_tokens"),
    ("chat", "repetition-penalty-below-one", chat(repetition_penalty=0.5), "repetition_penalty"),
    ("chat", "seed-huge", chat(seed=2**32), "seed"),
    ("chat", "stop-not-an-event", chat(stop="now"), "stop"),
    # stream_chat: refused before anything is generated (or at its first piece for the context)
    ("stream_chat", "empty-text", lambda s, f: s.stream_chat(""), "messages"),
    ("stream_chat", "none", lambda s, f: s.stream_chat(None), "messages"),
    ("stream_chat", "temperature-nan", lambda s, f: s.stream_chat("hi", temperature=NAN), "temperature"),
    ("stream_chat", "max-new-tokens-past-the-context", lambda s, f: list(s.stream_chat("hi", max_new_tokens=256)),
     "max_new_tokens"),
    # text_to_text
    ("text_to_text", "empty-text", t2t(""), "text"),
    ("text_to_text", "whitespace-text", t2t("   "), "text"),
    ("text_to_text", "nul-text", t2t(NUL), "text"),
    ("text_to_text", "over-long-text", t2t("x" * (MAX_TEXT_CHARS + 1)), "text"),
    ("text_to_text", "none-text", t2t(None), "text"),
    ("text_to_text", "lone-surrogate", t2t(SURROGATE), "text"),
    ("text_to_text", "unknown-mode", t2t(mode="poem"), "mode"),
    ("text_to_text", "mode-leaving-its-folder", t2t(mode="../continue"), "mode"),
    ("text_to_text", "number-mode", t2t(mode=42), "mode"),
    ("text_to_text", "unknown-language", t2t(mode="translate", target_language="klingon"), "target_language"),
    ("text_to_text", "number-language", t2t(mode="translate", target_language=42), "target_language"),
    ("text_to_text", "nul-instruction", t2t(mode="rewrite", instruction=NUL), "instruction"),
    ("text_to_text", "max-new-tokens-nan", t2t(max_new_tokens=NAN), "max_new_tokens"),
    ("text_to_text", "text-too-long-for-the-context", t2t("word " * 400), "text"),
    # next_token
    ("next_token", "empty-text", lambda s, f: s.next_token(""), "text"),
    ("next_token", "nul-text", lambda s, f: s.next_token(NUL), "text"),
    ("next_token", "none-text", lambda s, f: s.next_token(None), "text"),
    ("next_token", "text-too-long-for-the-context", lambda s, f: s.next_token("word " * 400), "text"),
    ("next_token", "rows-zero", lambda s, f: s.next_token("Bonjour", top_k=0), "top_k"),
    ("next_token", "rows-beyond-max", lambda s, f: s.next_token("Bonjour", top_k=101), "top_k"),
    ("next_token", "rows-string", lambda s, f: s.next_token("Bonjour", top_k="5"), "top_k"),
    ("next_token", "append-number", lambda s, f: s.next_token("Bonjour", append=42), "append"),
    ("next_token", "append-over-long", lambda s, f: s.next_token("Bonjour", append="x" * 201), "append"),
    ("next_token", "append-lone-surrogate", lambda s, f: s.next_token("Bonjour", append="\udcff"), "append"),
    # text_to_speech
    ("text_to_speech", "empty-text", tts(""), "text"),
    ("text_to_speech", "whitespace-text", tts(" \n"), "text"),
    ("text_to_speech", "nul-text", tts(NUL), "text"),
    ("text_to_speech", "over-long-text", tts("x" * (MAX_SPEECH_CHARS + 1)), "text"),
    ("text_to_speech", "none-text", tts(None), "text"),
    ("text_to_speech", "lone-surrogate", tts(SURROGATE), "text"),
    ("text_to_speech", "nothing-readable", tts("🙂🙂 ✨"), "text"),
    ("text_to_speech", "unknown-language", tts(language="xx"), "language"),
    ("text_to_speech", "language-leaving-its-folder", tts(language="../en"), "language"),
    ("text_to_speech", "number-language", tts(language=42), "language"),
    ("text_to_speech", "rate-zero", tts(speaking_rate=0), "speaking_rate"),
    ("text_to_speech", "rate-nan", tts(speaking_rate=NAN), "speaking_rate"),
    ("text_to_speech", "rate-huge", tts(speaking_rate=1e308), "speaking_rate"),
    ("text_to_speech", "pause-negative", tts(pause=-1), "pause"),
    ("text_to_speech", "pause-string", tts(pause="1"), "pause"),
    ("text_to_speech", "seed-negative", tts(seed=-2), "seed"),
    ("text_to_speech", "unknown-voice", tts(voice="xx"), "voice"),
    ("text_to_speech", "speaker-out-of-range", tts(voice="tiny:tts_speakers#9"), "voice"),
    ("text_to_speech", "recording-too-short", tts(voice=(16_000, tone(2.0).astype(np.float32)), reference_text="hi"), "voice"),
    ("text_to_speech", "reference-text-without-recording", tts(reference_text="hi"), "reference_text"),
    # speech_to_text: unreadable audio, then the settings
    ("speech_to_text", "zero-samples-file", stt(lambda f: f.empty_wav), "audio"),
    ("speech_to_text", "one-sample", stt(lambda f: f.single), "audio"),
    ("speech_to_text", "one-sample-file", stt(lambda f: f.one_wav), "audio"),
    ("speech_to_text", "nan-file", stt(lambda f: f.nan_wav), "audio"),
    ("speech_to_text", "text-named-wav", stt(lambda f: f.text_wav), "audio"),
    ("speech_to_text", "text-named-flac", stt(lambda f: f.text_flac), "audio"),
    ("speech_to_text", "wav-cut-in-its-header", stt(lambda f: f.header), "audio"),
    ("speech_to_text", "none", lambda s, f: s.speech_to_text(None), "audio"),
    ("speech_to_text", "number", lambda s, f: s.speech_to_text(42), "audio"),
    ("speech_to_text", "string-samples", stt(lambda f: (16_000, "abc")), "audio"),
    ("speech_to_text", "nan-rate", stt(lambda f: (NAN, f.tone[1])), "audio"),
    ("speech_to_text", "unknown-task", stt(task="summarize"), "task"),
    ("speech_to_text", "unknown-language", stt(language="xx"), "language"),
    ("speech_to_text", "timestamps-string", stt(timestamps="yes"), "timestamps"),
    ("speech_to_text", "batch-zero", stt(batch_size=0), "batch_size"),
    ("speech_to_text", "batch-beyond-max", stt(batch_size=65), "batch_size"),
    ("speech_to_text", "batch-nan", stt(batch_size=NAN), "batch_size"),
    # text_to_music
    ("text_to_music", "empty-prompt", t2m(""), "prompt"),
    ("text_to_music", "nul-prompt", t2m(NUL), "prompt"),
    ("text_to_music", "none-prompt", t2m(None), "prompt"),
    ("text_to_music", "lone-surrogate", t2m(SURROGATE), "prompt"),
    ("text_to_music", "over-long-prompt", t2m("x" * (MAX_MUSIC_PROMPT_CHARS + 1)), "prompt"),
    ("text_to_music", "duration-zero", t2m(duration=0), "duration"),
    ("text_to_music", "duration-negative", t2m(duration=-1), "duration"),
    ("text_to_music", "duration-nan", t2m(duration=NAN), "duration"),
    ("text_to_music", "duration-beyond-max", t2m(duration=121), "duration"),
    ("text_to_music", "duration-string", t2m(duration="8"), "duration"),
    ("text_to_music", "guidance-below-one", t2m(guidance=0.5), "guidance"),
    ("text_to_music", "temperature-zero", t2m(temperature=0), "temperature"),
    ("text_to_music", "top-k-negative", t2m(top_k=-1), "top_k"),
    ("text_to_music", "seed-negative", t2m(seed=-2), "seed"),
    # continue_music
    ("continue_music", "zero-samples", music_more(lambda f: f.zero), "audio"),
    ("continue_music", "one-sample", music_more(lambda f: f.single), "audio"),
    ("continue_music", "nan-samples", music_more(lambda f: f.nans), "audio"),
    ("continue_music", "text-named-wav", music_more(lambda f: f.text_wav), "audio"),
    ("continue_music", "none", music_more(lambda f: None), "audio"),
    ("continue_music", "nul-prompt", music_more(prompt=NUL), "prompt"),
    ("continue_music", "number-prompt", music_more(prompt=42), "prompt"),
    ("continue_music", "keep-prompt-string", music_more(keep_prompt="yes"), "keep_prompt"),
    ("continue_music", "duration-nan", music_more(duration=NAN), "duration"),
    # translate_speech
    ("translate_speech", "zero-samples", translate(lambda f: f.zero), "audio"),
    ("translate_speech", "nan-samples", translate(lambda f: f.nans), "audio"),
    ("translate_speech", "text-named-wav", translate(lambda f: f.text_wav), "audio"),
    ("translate_speech", "none", translate(lambda f: None), "audio"),
    ("translate_speech", "unknown-language", translate(language="xx"), "language"),
    ("translate_speech", "language-leaving-its-folder", translate(language="../fr"), "language"),
    ("translate_speech", "seed-string", translate(seed="1"), "seed"),
    ("translate_speech", "rate-nan", translate(speaking_rate=NAN), "speaking_rate"),
    ("translate_speech", "pause-negative", translate(pause=-1), "pause"),
    # save
    ("save", "none", lambda s, f: s.save(None), "result"),
    ("save", "text", lambda s, f: s.save("a fox"), "result"),
    ("save", "unknown-audio-format", lambda s, f: s.save(AudioResult(f.tone[1], 16_000, {}), format="ogg"), "format"),
    ("save", "format-leaving-its-folder", lambda s, f: s.save(AudioResult(f.tone[1], 16_000, {}), format="../wav"),
     "format"),
    ("save", "format-for-an-image", lambda s, f: s.save(ImageResult([Image.new("RGB", (8, 8))], [1], {}), format="png"),
     "format"),
    # read_recipe
    ("read_recipe", "none", lambda s, f: Studio.read_recipe(None), "path"),
    ("read_recipe", "number", lambda s, f: Studio.read_recipe(42), "path"),
    ("read_recipe", "missing", lambda s, f: Studio.read_recipe(f.missing), "path"),
    ("read_recipe", "a-folder", lambda s, f: Studio.read_recipe(f.folder), "path"),
    ("read_recipe", "png-cut-in-half", lambda s, f: Studio.read_recipe(f.half), "half.png"),
    ("read_recipe", "text-named-png", lambda s, f: Studio.read_recipe(f.text_png), "text.png"),
    ("read_recipe", "text-named-wav", lambda s, f: Studio.read_recipe(f.text_wav), "text.wav"),
    ("read_recipe", "a-system-file", lambda s, f: Studio.read_recipe("/etc/passwd"), "passwd"),
    # Studio(): presets, budgets, devices, folders
    ("Studio", "preset-number", studio_with(preset=42), "preset"),
    ("Studio", "unknown-preset", studio_with(preset="fastest"), "preset"),
    ("Studio", "preset-leaving-its-folder", studio_with(preset="../models/tiny"), "preset"),
    ("Studio", "preset-through-its-folder", studio_with(preset="tiny/../cpu"), "preset"),
    ("Studio", "preset-system-file", studio_with(preset="/etc/passwd"), "preset"),
    ("Studio", "missing-preset-file", studio_with(preset="../../nowhere.toml"), "preset"),
    ("Studio", "memory-budget-words", studio_with(memory_budget="lots"), "memory budget"),
    ("Studio", "memory-budget-negative", studio_with(memory_budget="-1GB"), "memory budget"),
    ("Studio", "memory-budget-negative-bytes", studio_with(memory_budget=-5), "memory budget"),
    ("Studio", "memory-budget-bool", studio_with(memory_budget=True), "memory budget"),
    ("Studio", "unknown-device", studio_with(device="tpu"), "device"),
    ("Studio", "unknown-dtype", studio_with(dtype="float8"), "dtype"),
    ("Studio", "outputs-number", studio_with(outputs=42), "outputs"),
    ("Studio", "tiny-model-leaving-its-folder",
     lambda s, f: Studio(preset=_preset(f, '[image]\nmodel = "tiny:../sd"\n')).text_to_image("a fox"), "tiny model"),
    ("Studio", "section-without-a-model", lambda s, f: s.model_ref("nowhere"), "nowhere"),
    # the model library and model choices
    ("list_models", "unknown-task", lambda s, f: s.list_models("paintings"), "task"),
    ("list_models", "task-number", lambda s, f: s.list_models(42), "task"),
    ("model_defaults", "unknown-section", lambda s, f: s.model_defaults("imagery", None), "section must be one of"),
    ("model_choice", "blank-model", lambda s, f: s.model_choice("image", "   "), "model"),
    ("model_choice", "model-number", lambda s, f: s.model_choice("image", 42), "model"),
    ("settings", "unknown-operation", lambda s, f: s.settings("paint"), "operation"),
    ("settings", "model-number", lambda s, f: s.settings("text_to_image", 42), "model"),
    ("part_settings", "unknown-keyword", lambda s, f: s.part_settings("lora"), "keyword"),
    ("text_to_image", "model-number", lambda s, f: s.text_to_image("a fox", model=42), "model"),
    ("text_to_image_many", "lengths-differ", lambda s, f: s.text_to_image_many(["a fox", "a cat"], [1]), "prompts and seeds"),
    ("text_to_image_many", "steps-words", lambda s, f: s.text_to_image_many(["a fox"], [1], steps="many"), "steps"),
    ("text_to_image_many", "batch-size", lambda s, f: s.text_to_image_many(["a fox"], [1], batch_size=2), "batch_size"),
    ("text_to_image_many", "embedding", lambda s, f: s.text_to_image_many(["a fox"], [1], loras="x"), "loras"),
    ("text_to_image", "lora-weight-words", lambda s, f: s.text_to_image("a fox <lora:x:lots>"), "weight"),
    ("text_to_image", "lora-unknown", lambda s, f: s.text_to_image("a fox <lora:nowhere:1>"), "LoRA 'nowhere'"),
    ("text_to_image", "loras-number", lambda s, f: s.text_to_image("a fox", loras=42), "loras"),
    # batch jobs: unknown tasks and modes, wrong types, files that are not there
    ("batch", "not-json", batch("{task: text_to_image}"), "line 1"),
    ("batch", "unknown-task", batch('{"task": "paint", "prompt": "a fox"}'), "task"),
    ("batch", "task-leaving-its-folder", batch('{"task": "../../etc/passwd"}'), "task"),
    ("batch", "unknown-mode", batch('{"task": "audio_to_audio", "mode": "reverse", "audio": "x.wav"}'), "mode"),
    ("batch", "prompt-number", batch('{"task": "text_to_image", "prompt": 42}'), "prompt"),
    ("batch", "steps-string", batch('{"task": "text_to_image", "prompt": "a fox", "steps": "four"}'), "steps"),
    ("batch", "prompt-missing", batch('{"task": "text_to_image"}'), "prompt"),
    ("batch", "unknown-setting", batch('{"task": "text_to_image", "prompt": "a fox", "colour": "red"}'), "colour"),
    ("batch", "audio-file-missing", batch('{"task": "speech_to_text", "audio": "../../nowhere.wav"}'), "audio"),
]


def _preset(f, text: str) -> Path:
    path = f.folder / f"preset-{abs(hash(text))}.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("call, field", [pytest.param(c, fld, id=f"{g}-{n}") for g, n, c, fld in CASES])
def test_bad_input_is_a_value_error_naming_the_field_and_writes_nothing(studio, files, call, field):
    before = listing(studio.outputs)
    with pytest.raises(ValueError) as error:
        call(studio, files)
    assert re.search(field, str(error.value)), str(error.value)
    assert "Traceback" not in str(error.value)
    assert listing(studio.outputs) == before


# -- after a group's bad input, the next valid request works and gives what it gave before ------

def _same(a, b) -> bool:
    if isinstance(a, ImageResult):
        return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a.images, b.images, strict=True))
    if isinstance(a, AudioResult):
        return np.array_equal(a.audio, b.audio)
    if hasattr(a, "reconstruction"):
        return np.array_equal(np.asarray(a.reconstruction), np.asarray(b.reconstruction))
    if hasattr(a, "segments"):
        return (a.text, a.segments) == (b.text, b.segments)
    return getattr(a, "text", a) == getattr(b, "text", b)


VALID = {
    "text_to_image": lambda s, f: s.text_to_image("a fox", seed=1, steps=2),
    "image_to_image": lambda s, f: s.image_to_image(f.ok, "a fox", seed=1, steps=2, strength=0.5),
    "text_to_image_many": lambda s, f: [r.seeds for r in s.text_to_image_many(["a fox", "a cat"], [1, 2], steps=2)],
    "control_map": lambda s, f: s.control_map(f.ok).tobytes(),
    "xy_plot": lambda s, f: s.xy_plot("text_to_image", x=("steps", [1, 2]), prompt="a fox", seed=1).grid.tobytes(),
    "inpaint": lambda s, f: s.inpaint(f.ok, f.mask, "a fox", seed=1, steps=2),
    "outpaint": lambda s, f: s.outpaint(f.ok, "a fox", left=8, seed=1, steps=2),
    "upscale": lambda s, f: s.upscale(f.ok),
    "vae_latents": lambda s, f: s.vae_latents(f.ok),
    "chat": lambda s, f: s.chat("Bonjour", seed=1),
    "stream_chat": lambda s, f: "".join(s.stream_chat("Bonjour", seed=1)),
    "text_to_text": lambda s, f: s.text_to_text("Bonjour à tous.", mode="rewrite", seed=1),
    "next_token": lambda s, f: list(s.next_token("Bonjour", top_k=3)),
    "text_to_speech": lambda s, f: s.text_to_speech("Bonjour", seed=1),
    "speech_to_text": lambda s, f: s.speech_to_text(f.noise),
    "text_to_music": lambda s, f: s.text_to_music("calm piano", duration=0.2, seed=1),
    "continue_music": lambda s, f: s.continue_music(f.tone, "drums", duration=0.2, seed=1),
    "translate_speech": lambda s, f: s.translate_speech(f.noise, language="en", seed=1),
    "save": lambda s, f: [p.suffix for p in s.save(AudioResult(f.tone[1].astype(np.float32), 16_000, {"task": "x"}))],
    "read_recipe": lambda s, f: Studio.read_recipe(s.save(AudioResult(f.tone[1].astype(np.float32), 16_000, {"a": 1}))[0]),
    "Studio": lambda s, f: repr(Studio(preset="tiny", outputs=f.folder / "never")),
    "list_models": lambda s, f: [row["name"] for row in s.list_models("image")],
    "model_choice": lambda s, f: s.model_choice("image").name,
    "settings": lambda s, f: s.settings("text_to_image").names(),
    "part_settings": lambda s, f: s.part_settings("hires").names(),
    "model_defaults": lambda s, f: s.model_defaults("image", s.model_ref("image")),
    "batch": lambda s, f: [j.method for j in parse_jobs(job_file(f, '{"task": "text_to_image", "prompt": "a fox"}'), Studio)],
}
GROUPS = list(dict.fromkeys(g for g, *_ in CASES))


def test_every_studio_method_taking_input_has_bad_input_cases():
    public = {n for n in dir(Studio) if not n.startswith("_") and callable(getattr(Studio, n))}
    # model_ref and model_defaults look up what an operation will load; the operations check what users give
    assert public - NO_INPUT - {"model_ref", "model_defaults"} <= set(GROUPS), sorted(public - NO_INPUT - set(GROUPS))
    assert set(GROUPS) == set(VALID)


@pytest.mark.parametrize("group", GROUPS)
def test_after_bad_input_the_next_valid_request_succeeds_unchanged(studio, files, group):
    before = VALID[group](studio, files)
    for _, _, call, _ in [case for case in CASES if case[0] == group]:
        with pytest.raises(ValueError):
            call(studio, files)
    after = VALID[group](studio, files)
    if group not in ("save", "read_recipe"):  # each save writes a new file: compare only what they show
        assert _same(before, after)
    else:
        assert before == after


def test_bad_batch_files_create_no_output_folder(files, tmp_path):
    from studio.serving.batch import run_batch

    out = tmp_path / "results"
    with pytest.raises(ValueError, match="line 1: field 'task'"):
        run_batch(job_file(files, '{"task": "paint"}'), out, preset="tiny", progress=False)
    assert not out.exists()


def test_names_from_prompts_stay_in_the_outputs_folder(studio, tmp_path):
    escape = Studio(preset="tiny", outputs=tmp_path / "outputs")
    result = studio.text_to_speech("../../../../tmp/evil/.. /etc/passwd", seed=1)
    [path] = escape.save(result)
    assert path.resolve().is_relative_to((tmp_path / "outputs").resolve())
    assert listing(tmp_path) == ["outputs", f"outputs/{path.parent.name}", f"outputs/{path.parent.name}/{path.name}"]


# -- odd but valid images and audio work ----------------------------------------------------------

def _image_file(folder: Path, name: str, image: Image.Image, **options) -> Path:
    path = folder / name
    image.save(path, **options)
    return path


def _sixteen_bit(size=(72, 64)) -> Image.Image:
    ramp = (np.linspace(0, 65535, size[0] * size[1]).reshape(size[1], size[0])).astype(np.uint16)
    return Image.fromarray(ramp)  # mode I;16


def _rotated_jpeg(folder: Path) -> Path:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to view
    return _image_file(folder, "rotated.jpg", Image.new("RGB", (96, 64), (20, 90, 160)), exif=exif)


ODD_IMAGE_FILES = {
    "cmyk-jpeg": lambda d: _image_file(d, "cmyk.jpg", Image.new("CMYK", (72, 64), (10, 200, 30, 5))),
    "rgba-png": lambda d: _image_file(d, "rgba.png", Image.new("RGBA", (72, 64), (10, 200, 30, 100))),
    "greyscale-png": lambda d: _image_file(d, "grey.png", Image.new("L", (72, 64), 128)),
    "sixteen-bit-png": lambda d: _image_file(d, "deep.png", _sixteen_bit()),
    "palette-gif": lambda d: _image_file(d, "palette.gif", Image.new("RGB", (72, 64), (200, 0, 0)).convert("P")),
}


@pytest.mark.parametrize("make", ODD_IMAGE_FILES.values(), ids=ODD_IMAGE_FILES.keys())
def test_odd_but_valid_image_files_work(studio, tmp_path, make):
    result = studio.image_to_image(make(tmp_path), "a fox", steps=2, seed=1)
    assert result.images[0].size == (72, 64)


def test_an_exif_rotated_photo_is_used_upright(studio, tmp_path):
    result = studio.image_to_image(_rotated_jpeg(tmp_path), "a fox", steps=2, seed=1)
    assert result.images[0].size == (64, 96)


ODD_ARRAYS = {
    "uint16-rgb": np.full((64, 72, 3), 40_000, dtype=np.uint16),
    "float-greyscale": np.linspace(0, 1, 64 * 72).reshape(64, 72),
    "one-channel": np.full((64, 72, 1), 90, dtype=np.uint8),
    "rgba": np.full((64, 72, 4), 200, dtype=np.uint8),
}


@pytest.mark.parametrize("array", ODD_ARRAYS.values(), ids=ODD_ARRAYS.keys())
def test_odd_but_valid_arrays_work(studio, array):
    assert studio.image_to_image(array, "a fox", steps=2, seed=1).images[0].size == (72, 64)


@pytest.mark.parametrize("grey, value", [(180.0, 180), (0.5, 128)])
def test_float_pil_images_keep_their_grey(grey, value):
    """PIL's float images hold 0-255 (as its L -> F conversion gives); ones of [0, 1] are scaled."""
    from pipelines.image_io import load_image

    image = load_image(Image.fromarray(np.full((64, 72), grey, dtype=np.float32)))
    assert image.mode == "RGB" and image.getpixel((3, 3)) == (value, value, value)


@pytest.mark.parametrize("mode", ["CMYK", "RGBA", "L", "I;16", "LAB", "1"])
def test_upscale_and_the_latent_view_take_every_image_mode(studio, mode):
    source = (_sixteen_bit((40, 32)) if mode == "I;16" else Image.new("RGB", (40, 32), (10, 120, 200)).convert(mode))
    assert studio.upscale(source).images[0].size == (80, 64)
    assert studio.vae_latents(source).reconstruction.size == (40, 32)


def _int(samples: np.ndarray, dtype) -> np.ndarray:
    return (samples * (np.iinfo(dtype).max // 2)).astype(dtype)


ODD_AUDIO = {  # combinations tests/test_audio_io.py does not make, through each audio operation
    "speech_to_text-24-bit-8-khz-file": ("speech_to_text", "PCM_24", 8_000, 1),
    "speech_to_text-32-bit-96-khz-8-channels": ("speech_to_text", np.int32, 96_000, 8),
    "continue_music-8-bit-11-khz-file": ("continue_music", "PCM_U8", 11_025, 2),
    "continue_music-float64-48-khz-6-channels": ("continue_music", np.float64, 48_000, 6),
    "translate_speech-16-bit-22-khz-4-channels": ("translate_speech", np.int16, 22_050, 4),
    "translate_speech-float-44-khz-stereo-file": ("translate_speech", "FLOAT", 44_100, 2),
}


@pytest.mark.parametrize("operation, kind, rate, channels", ODD_AUDIO.values(), ids=ODD_AUDIO.keys())
def test_odd_but_valid_audio_works(studio, tmp_path, operation, kind, rate, channels):
    samples = (0.1 * np.random.default_rng(0).standard_normal((rate, channels))).clip(-1, 1)
    if isinstance(kind, str):
        audio = tmp_path / f"in.{'wav' if kind != 'PCM_24' else 'flac'}"
        sf.write(audio, samples, rate, subtype=kind)
    else:
        audio = (rate, samples.astype(kind) if kind is np.float64 else _int(samples, kind))
    if operation == "speech_to_text":
        assert studio.speech_to_text(audio).params["audio_seconds"] == pytest.approx(1.0, abs=0.01)
    elif operation == "continue_music":
        result = studio.continue_music(audio, "drums", duration=0.2, seed=1)
        assert result.params["audio_seconds"] == pytest.approx(1.0, abs=0.01) and result.audio.size > 0
    else:
        assert studio.translate_speech(audio, language="en", seed=1).audio.size > 0


# -- the same through the web API: gradio_client against `python app.py` ---------------------------

def up(attribute: str):
    return lambda f: handle_file(str(getattr(f, attribute)))


def editor(attribute: str):
    """What the mask editor sends: the image as its background, nothing painted."""
    return lambda f: {"background": handle_file(str(getattr(f, attribute))), "layers": [], "composite": None}


# (endpoint, keywords(files), field named in the message)
REQUESTS = [
    ("inpaint", lambda f: dict(image=editor("ok")(f), mask=up("mask")(f), prompt="a fox", mask_blur=-1), "mask_blur"),
    ("inpaint", lambda f: dict(image=editor("ok")(f), mask=None, prompt="a fox"), "mask"),
    ("inpaint", lambda f: dict(image=editor("ok")(f), mask=up("half")(f), prompt="a fox"), "mask"),
    ("inpaint", lambda f: dict(image=editor("ok")(f), mask=up("mask")(f), prompt="a fox", inpaint_area="x"), "inpaint_area"),
    ("outpaint", lambda f: dict(image=up("ok")(f), prompt="a fox"), "nothing to add"),
    ("outpaint", lambda f: dict(image=up("ok")(f), prompt="a fox", left=8, fill="paint"), "fill"),
    ("text_to_image", lambda f: dict(prompt=""), "prompt"),
    ("text_to_image", lambda f: dict(prompt=NUL), "prompt"),
    ("text_to_image", lambda f: dict(prompt="x" * (MAX_PROMPT_CHARS + 1)), "prompt"),
    ("text_to_image", lambda f: dict(prompt="a fox", width=500), "width"),
    ("text_to_image", lambda f: dict(prompt="a fox", height=4096), "height"),
    ("text_to_image", lambda f: dict(prompt="a fox", steps="abc"), "steps"),
    ("text_to_image", lambda f: dict(prompt="a fox", guidance=-1), "guidance"),
    ("text_to_image", lambda f: dict(prompt="a fox", seed=-5), "seed"),
    ("text_to_image", lambda f: dict(prompt="a fox", batch_size=[1, 2]), "batch_size"),
    ("text_to_image", lambda f: dict(prompt="a fox", scheduler="Fastest"), "scheduler"),
    ("xy_plot", lambda f: dict(prompt="a fox", x_setting="steps", x_values="1, two"), "x value 'two' for steps"),
    ("xy_plot", lambda f: dict(prompt="a fox", x_setting="speed", x_values="1"), "x setting 'speed'"),
    ("xy_plot", lambda f: dict(prompt="a fox", x_setting="steps", x_values="1", y_setting="seed", y_values=" , "),
     "y values are empty"),
    ("xy_plot", lambda f: dict(prompt="a fox", x_setting="seed", x_values=",".join(map(str, range(9))),
                               y_setting="steps", y_values=",".join(map(str, range(1, 9)))), "at most 64"),
    ("xy_plot", lambda f: dict(prompt="a fox", x_setting="prompt_sr", x_values="cat, dog"), "prompt_sr searches 'cat'"),
    ("image_to_image", lambda f: dict(image=up("text_png")(f), prompt="a fox"), "image"),
    ("image_to_image", lambda f: dict(image=up("half")(f), prompt="a fox"), "image"),
    ("image_to_image", lambda f: dict(image=up("one")(f), prompt="a fox"), "image"),
    ("image_to_image", lambda f: dict(image=None, prompt="a fox"), "image"),
    ("image_to_image", lambda f: dict(image=up("ok")(f), prompt="a fox", strength=1.5), "strength"),
    ("image_to_image", lambda f: dict(image=up("ok")(f), prompt="a fox", strength=0), "strength"),
    ("upscale", lambda f: dict(image=up("text_png")(f)), "image"),
    ("upscale", lambda f: dict(image=up("ok")(f), scale=3), "scale"),
    ("upscale", lambda f: dict(image=up("ok")(f), tile=0), "tile"),
    ("vae_latents", lambda f: dict(image=up("half")(f)), "image"),
    ("vae_latents", lambda f: dict(image=None), "image"),
    ("vae_latents", lambda f: dict(image=up("text_png")(f)), "image"),
    ("vae_latents", lambda f: dict(image=up("one")(f)), "image"),
    ("chat", lambda f: dict(message=""), "messages"),
    ("chat", lambda f: dict(message=NUL), "messages"),
    ("chat", lambda f: dict(message="hi", history=42), "history"),
    ("chat", lambda f: dict(message="hi", history=[{"role": "robot", "content": "x"}]), "messages"),
    ("chat", lambda f: dict(message="hi", temperature=5), "temperature"),
    ("chat", lambda f: dict(message="hi", max_new_tokens=0), "max_new_tokens"),
    ("text_to_text", lambda f: dict(text=""), "text"),
    ("text_to_text", lambda f: dict(text="Bonjour", mode="poem"), "mode"),
    ("text_to_text", lambda f: dict(text="Bonjour", mode="translate", target_language="klingon"), "target_language"),
    ("text_to_text", lambda f: dict(text="Bonjour", top_p=0), "top_p"),
    ("next_token", lambda f: dict(text=""), "text"),
    ("next_token", lambda f: dict(text="Bonjour", top_k=0), "top_k"),
    ("next_token", lambda f: dict(text="Bonjour", top_k=101), "top_k"),
    ("text_to_speech", lambda f: dict(text=""), "text"),
    ("text_to_speech", lambda f: dict(text="Bonjour", language="xx"), "language"),
    ("text_to_speech", lambda f: dict(text="Bonjour", speaking_rate=0), "speaking_rate"),
    ("text_to_speech", lambda f: dict(text="Bonjour", format="ogg"), "format"),
    ("speech_to_text", lambda f: dict(audio=up("text_wav")(f)), "audio"),
    ("speech_to_text", lambda f: dict(audio=up("one_wav")(f)), "audio"),
    ("speech_to_text", lambda f: dict(audio=up("empty_wav")(f)), "audio"),
    ("speech_to_text", lambda f: dict(audio=None), "audio"),
    ("speech_to_text", lambda f: dict(audio=up("wav")(f), task="summarize"), "task"),
    ("speech_to_text", lambda f: dict(audio=up("wav")(f), batch_size=0), "batch_size"),
    ("text_to_music", lambda f: dict(prompt=""), "prompt"),
    ("text_to_music", lambda f: dict(prompt="calm piano", duration=-1), "duration"),
    ("text_to_music", lambda f: dict(prompt="calm piano", duration=121), "duration"),
    ("text_to_music", lambda f: dict(prompt="calm piano", top_k=-1), "top_k"),
    ("audio_to_audio", lambda f: dict(audio=up("text_wav")(f), mode="continue"), "audio"),
    ("audio_to_audio", lambda f: dict(audio=up("nan_wav")(f), mode="continue"), "audio"),
    ("audio_to_audio", lambda f: dict(audio=up("wav")(f), mode="reverse"), "mode"),
    ("audio_to_audio", lambda f: dict(audio=up("wav")(f), mode="continue", duration=0), "duration"),
    ("audio_to_audio", lambda f: dict(audio=up("wav")(f), mode="translate", language="xx"), "language"),
]


@pytest.mark.parametrize("api, keywords, field",
                         [pytest.param(a, k, fld, id=f"{a}-{fld}-{i}") for i, (a, k, fld) in enumerate(REQUESTS)])
def test_bad_requests_reach_the_client_naming_the_field(server, client, files, api, keywords, field):
    before, logged = listing(server.outputs), len(server.log.read_text())
    with pytest.raises(AppError) as error:
        client.predict(**keywords(files), api_name=f"/{api}")
    assert re.search(field, str(error.value)), str(error.value)
    assert listing(server.outputs) == before
    assert "Traceback" not in server.log.read_text()[logged:]


# the text_to_image fields after the settings: model and LoRAs (none), the hires fix (off), one ControlNet unit (none)
EXTRAS = ', null, [], 0.8, false, 2, 0, 0.7, "latent", null, null, "canny", 1, 0, 1'


@pytest.mark.parametrize("body, field", [
    ('{"data": ["a fox", "", 4, NaN, 0, 0, 1, 1, "default", 0' + EXTRAS + ']}', "guidance must be in"),
    ('{"data": ["a fox", "", 4, 7.5, Infinity, 0, 1, 1, "default", 0' + EXTRAS + ']}', "width must be"),
    ('{"data": ["a \\ud800 fox", "", 4, 7.5, 0, 0, 1, 1, "default", 0' + EXTRAS + ']}',
     "prompt holds a character that is not valid"),
], ids=["nan", "infinity", "lone-surrogate"])
def test_what_gradio_client_cannot_send_is_named_too(server, body, field):
    """NaN, Infinity and lone surrogates: not JSON gradio_client writes, but a hand-written request can."""
    import httpx

    logged = len(server.log.read_text())
    with httpx.Client(base_url=server.url, timeout=60) as http:
        event = http.post("gradio_api/call/text_to_image", content=body, headers={"Content-Type": "application/json"})
        assert event.status_code == 200, event.text
        answer = http.get(f"gradio_api/call/text_to_image/{event.json()['event_id']}").text
    assert "event: error" in answer and field in answer, answer
    assert "Traceback" not in server.log.read_text()[logged:]


VALID_REQUESTS = {
    "text_to_image": lambda f: dict(prompt="a fox", seed=1),
    "xy_plot": lambda f: dict(prompt="a fox", x_setting="steps", x_values="1, 2", y_setting="none", seed=1),
    "image_to_image": lambda f: dict(image=up("ok")(f), prompt="a fox", seed=1),
    "inpaint": lambda f: dict(image=editor("ok")(f), mask=up("mask")(f), prompt="a fox", seed=1, steps=2),
    "outpaint": lambda f: dict(image=up("ok")(f), prompt="a fox", left=8, seed=1, steps=2),
    "upscale": lambda f: dict(image=up("ok")(f)),
    "vae_latents": lambda f: dict(image=up("ok")(f)),
    "chat": lambda f: dict(message="Bonjour", seed=1),
    "text_to_text": lambda f: dict(text="Bonjour", seed=1),
    "next_token": lambda f: dict(text="Bonjour"),
    "text_to_speech": lambda f: dict(text="Bonjour", seed=1),
    "speech_to_text": lambda f: dict(audio=up("wav")(f)),
    "text_to_music": lambda f: dict(prompt="calm piano", duration=0.5, seed=1),
    "audio_to_audio": lambda f: dict(audio=up("wav")(f), mode="continue", duration=0.5, seed=1),
}


def test_every_endpoint_has_bad_requests(client):
    named = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {name.lstrip("/") for name in named} == set(ENDPOINTS) == {api for api, *_ in REQUESTS} == set(VALID_REQUESTS)


@pytest.mark.parametrize("api", ENDPOINTS)
def test_after_bad_requests_each_endpoint_still_serves(server, client, files, api):
    before = listing(server.outputs)
    result = client.predict(**VALID_REQUESTS[api](files), api_name=f"/{api}")
    assert result is not None
    if api != "vae_latents":  # the latent view shows, it saves nothing
        assert len(listing(server.outputs)) > len(before)


def test_the_server_logged_no_traceback(server):
    assert "Traceback" not in server.log.read_text()


def test_request_bodies_that_are_not_json_are_refused_cleanly(server):
    import httpx

    with httpx.Client(base_url=server.url, timeout=30) as http:
        for body in ["{not json", json.dumps({"data": "not a list"}), json.dumps({"nothing": []})]:
            answer = http.post("gradio_api/call/text_to_image", content=body, headers={"Content-Type": "application/json"})
            assert 400 <= answer.status_code < 500, (body, answer.status_code)
    assert "Traceback" not in server.log.read_text()

"""Images: studio overhead over raw diffusers, load versus warm calls, img2img weight sharing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from bench.common import raw_format, side_by_side, timed, value_row


def overhead(studio, *, size: int, steps: int, guidance: float, runs: int) -> dict:
    import torch
    from diffusers import StableDiffusionPipeline

    model = studio.model_ref("image")
    raw = StableDiffusionPipeline.from_pretrained(model, use_safetensors=True, **raw_format(studio, "diffusion"))
    if raw.dtype == torch.bfloat16:  # as the studio lays it out (pipelines.devices.fast_layout)
        raw.unet.to(memory_format=torch.channels_last)
        raw.vae.to(memory_format=torch.channels_last)
    raw.set_progress_bar_config(disable=True)
    prompt = "a red fox in the snow"

    def studio_call():
        studio.text_to_image(prompt, seed=1, steps=steps, guidance=guidance, width=size, height=size)

    def raw_call():
        raw(prompt, num_inference_steps=steps, guidance_scale=guidance, width=size, height=size,
            generator=torch.Generator().manual_seed(1))

    studio_call()  # loads the studio's copy before timing
    _quiet_bars(studio)
    name = f"text_to_image {size}x{size}, {steps} steps: studio / raw diffusers"
    return side_by_side(name, studio_call, raw_call, runs=runs, note="target <= 1.03 at real size")


def _quiet_bars(studio) -> None:
    from pipelines.image import TextToImage

    with studio._use("text_to_image", studio.model_ref("image"), TextToImage.from_pretrained) as pipe:
        pipe.pipe.set_progress_bar_config(disable=True)


def load_versus_warm(preset: str, *, size: int, steps: int) -> list[dict]:
    from studio import Studio

    studio = Studio(preset=preset)
    first = timed(lambda: studio.text_to_image("a fox", seed=1, steps=steps, width=size, height=size))
    _quiet_bars(studio)
    warm = [timed(lambda: studio.text_to_image("a fox", seed=1, steps=steps, width=size, height=size)) for _ in range(3)]
    loads = sum(studio.models.loads.values())
    return [
        value_row("text_to_image first call (load) / warm call", first / sorted(warm)[1], unit="x",
                  note=f"first {first:.2f} s, warm median {sorted(warm)[1]:.3f} s"),
        value_row("model loads after 4 calls", loads, unit="loads", target="1"),
    ]


SHARING_SCRIPT = textwrap.dedent("""
    import json, sys
    from bench.common import rss_bytes
    from studio import Studio
    studio = Studio(preset=sys.argv[1])
    size, steps = int(sys.argv[2]), int(sys.argv[3])
    base = rss_bytes()
    image = studio.text_to_image("a fox", seed=1, steps=steps, width=size, height=size).images[0]
    after_t2i, tensors_t2i = rss_bytes(), studio.models.resident_bytes()
    studio.image_to_image(image, "a watercolor fox", seed=1, steps=steps, strength=0.6)
    after_both, tensors_both = rss_bytes(), studio.models.resident_bytes()
    print(json.dumps({"base": base, "t2i": after_t2i, "both": after_both, "tensors_t2i": tensors_t2i, "tensors_both": tensors_both}))
""")


def sharing(preset: str, *, size: int, steps: int) -> list[dict]:
    """Resident memory with txt2img loaded, then with img2img used too, in a fresh process."""
    output = subprocess.run([sys.executable, "-c", SHARING_SCRIPT, preset, str(size), str(steps)],
                            capture_output=True, text=True, check=True)
    m = json.loads(output.stdout.strip().splitlines()[-1])
    gb = 1e9
    return [
        value_row("process memory: txt2img + img2img / txt2img alone", m["both"] / m["t2i"], unit="x", target="<= 1.05",
                  note=f"RSS {m['t2i'] / gb:.2f} GB -> {m['both'] / gb:.2f} GB (before loading: {m['base'] / gb:.2f} GB)"),
        value_row("model tensors: txt2img + img2img / txt2img alone", m["tensors_both"] / m["tensors_t2i"], unit="x",
                  target="1.00", note=f"{m['tensors_t2i'] / gb:.3f} GB of weights, counted once"),
    ]


def run(quick: bool, preset: str = "tiny", real_size: bool = False) -> list[dict]:
    from studio import Studio

    size, steps, guidance = (256, 2, 0.0) if real_size else (256, 4, 7.5)
    runs = 3 if real_size else (5 if quick else 9)
    studio = Studio(preset=preset)
    rows = [overhead(studio, size=size, steps=steps, guidance=guidance, runs=runs)]
    rows += load_versus_warm(preset, size=size, steps=steps)
    rows += sharing(preset, size=size, steps=steps)
    return rows

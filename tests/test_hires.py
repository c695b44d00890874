"""Hires fix on the tiny SD model: sizes, reproducibility, recipe and A1111 infotext."""

import numpy as np
import pytest
from PIL import Image

from studio import Studio

BASE = dict(seed=3, steps=2, width=64, height=64)


@pytest.mark.parametrize("upscaler", ["latent", "lanczos", "upscaler"])
def test_hires_gives_the_scaled_size_and_the_same_pixels_again(studio, upscaler):
    hires = {"scale": 1.5, "strength": 0.5, "upscaler": upscaler}
    first = studio.text_to_image("a red fox", hires=hires, **BASE)
    again = studio.text_to_image("a red fox", hires=hires, **BASE)
    assert first.images[0].size == (96, 96)
    assert np.array_equal(np.asarray(first.images[0]), np.asarray(again.images[0]))
    assert first.params["width"] == 64 and first.params["hires"]["upscaler"] == upscaler


def test_hires_batch_and_steps_across_both_passes(studio):
    seen = []
    result = studio.text_to_image("a fox", hires={"scale": 2, "steps": 4, "strength": 0.5}, batch_size=2,
                                  callback=lambda step, total, preview: seen.append((step, total)), **BASE)
    assert [image.size for image in result.images] == [(128, 128)] * 2 and result.seeds == [3, 4]
    assert seen == [(step, 6) for step in range(1, 7)]  # 2 base steps, then 4 x 0.5 hires steps per image


def test_hires_infotext_reads_as_a1111_writes_it(studio):
    result = studio.text_to_image("a fox", hires={"scale": 2, "steps": 4, "strength": 0.5}, **BASE)
    path = studio.save(result)[0]
    text = Image.open(path).text["parameters"]
    assert "Hires upscale: 2.0" in text and "Hires steps: 4" in text and "Hires upscaler: Latent" in text
    assert "Denoising strength: 0.5" in text and "Size: 64x64" in text
    from studio.outputs.infotext import parse_infotext

    parsed = parse_infotext(text)
    assert parsed["task"] == "text_to_image"
    assert parsed["hires"] == {"scale": 2.0, "steps": 4, "upscaler": "latent", "strength": 0.5}
    assert Studio.read_recipe(path)["hires"]["scale"] == 2


def test_no_hires_is_the_plain_generation(studio):
    plain = studio.text_to_image("a fox", **BASE)
    off = studio.text_to_image("a fox", hires=None, **BASE)
    assert np.array_equal(np.asarray(plain.images[0]), np.asarray(off.images[0])) and "hires" not in off.params


@pytest.mark.parametrize("hires, field", [
    ({"scale": 1.0}, "hires scale"), ({"scale": 9}, "hires scale"), ({"steps": -1}, "hires steps"),
    ({"strength": 0}, "hires strength"), ({"upscaler": "esrgan"}, "hires upscaler"), ({"size": 2}, "unknown key"),
    ("2x", "hires must be a dict"), ({"scale": 4, "strength": 0.5}, "2048"),
])
def test_hires_rejects_bad_settings(studio, hires, field):
    with pytest.raises(ValueError, match=field):
        studio.text_to_image("a fox", hires=hires, steps=2, width=64 if field != "2048" else 1024, height=64)


def test_batch_runs_a_hires_job(tmp_path):
    import json

    from studio.serving.batch import run_batch

    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"task": "text_to_image", "prompt": "a fox", "seed": 1, "steps": 2,
                                "hires": {"scale": 1.5, "strength": 0.5}}) + "\n")
    assert run_batch(jobs, tmp_path / "out", preset="tiny", progress=False)["done"] == 1
    png = next((tmp_path / "out" / "jobs").rglob("*.png"))
    assert Image.open(png).size == (96, 96)

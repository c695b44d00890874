"""Inpaint and outpaint on the tiny SD model (latent masking) and the tiny inpainting checkpoint (9-channel UNet)."""

import json

import numpy as np
import pytest
from PIL import Image

from studio import Studio

FAST = dict(seed=1, steps=2, strength=1.0)


@pytest.fixture(scope="module")
def photo():
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def square():
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    return mask


def kept(mask: Image.Image, margin: int = 0) -> np.ndarray:
    """Where the mask is black, `margin` pixels away from any white."""
    white = np.asarray(mask) > 0
    if margin:
        ys, xs = np.nonzero(white)
        white = np.zeros_like(white)
        white[max(ys.min() - margin, 0):ys.max() + margin + 1, max(xs.min() - margin, 0):xs.max() + margin + 1] = True
    return ~white


@pytest.mark.parametrize("model", [None, "tiny:sd-inpaint"])
def test_pixels_outside_the_mask_are_the_input_exactly_and_the_masked_part_changes(studio, photo, square, model):
    result = studio.inpaint(photo, square, "a red fox", mask_blur=0, model=model, **FAST)
    out, source = np.asarray(result.images[0]), np.asarray(photo)
    outside = kept(square)
    assert np.array_equal(out[outside], source[outside])
    assert (out[~outside] != source[~outside]).mean() > 0.5
    assert result.params["inpainting_checkpoint"] is (model is not None)
    assert result.params["task"] == "inpaint" and result.images[0].size == (64, 64)


def test_a_blurred_mask_keeps_the_pixels_beyond_its_reach(studio, photo, square):
    result = studio.inpaint(photo, square, "a red fox", mask_blur=4, **FAST)
    far = kept(square, margin=12)
    assert np.array_equal(np.asarray(result.images[0])[far], np.asarray(photo)[far])


def test_same_seed_same_pixels_other_seed_other_pixels(studio, photo, square):
    first = studio.inpaint(photo, square, "a red fox", **FAST)
    again = studio.inpaint(photo, square, "a red fox", **FAST)
    other = studio.inpaint(photo, square, "a red fox", **{**FAST, "seed": 2})
    assert np.array_equal(np.asarray(first.images[0]), np.asarray(again.images[0]))
    assert not np.array_equal(np.asarray(first.images[0]), np.asarray(other.images[0]))


def test_unmasked_mode_redraws_the_black_part(studio, photo, square):
    result = studio.inpaint(photo, square, "a red fox", mask_blur=0, mask_mode="unmasked", **FAST)
    inside = ~kept(square)
    assert np.array_equal(np.asarray(result.images[0])[inside], np.asarray(photo)[inside])


def test_only_masked_redraws_a_crop_and_keeps_the_rest(studio, photo):
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (40, 40, 56, 56))
    result = studio.inpaint(photo, mask, "a red fox", mask_blur=0, inpaint_area="masked", padding=4, **FAST)
    assert result.images[0].size == (64, 64)
    outside = kept(mask)
    assert np.array_equal(np.asarray(result.images[0])[outside], np.asarray(photo)[outside])
    assert result.params["inpaint_area"] == "masked" and result.params["padding"] == 4


def test_an_odd_sized_image_keeps_its_size_and_pixels(studio):
    photo = Image.fromarray(np.random.default_rng(1).integers(0, 256, (70, 90, 3), dtype=np.uint8))
    mask = Image.new("L", photo.size, 0)
    mask.paste(255, (10, 10, 40, 40))
    result = studio.inpaint(photo, mask, "a red fox", mask_blur=0, **FAST)
    assert result.images[0].size == (90, 70)
    outside = kept(mask)
    assert np.array_equal(np.asarray(result.images[0])[outside], np.asarray(photo)[outside])


def test_outpaint_gives_the_bigger_canvas_with_the_original_in_place(studio, photo):
    result = studio.outpaint(photo, "a wide landscape", left=16, right=8, down=24, seed=1, steps=2)
    assert result.images[0].size == (64 + 24, 64 + 24)
    out = np.asarray(result.images[0])
    assert np.array_equal(out[0:64, 16:80], np.asarray(photo))
    assert result.params["task"] == "outpaint" and result.params["left"] == 16
    again = studio.outpaint(photo, "a wide landscape", left=16, right=8, down=24, seed=1, steps=2)
    assert np.array_equal(out, np.asarray(again.images[0]))


@pytest.mark.parametrize("fill", ["edge", "mirror", "noise", "gray"])
def test_outpaint_fills(studio, photo, fill):
    result = studio.outpaint(photo, "a landscape", up=8, fill=fill, seed=1, steps=2, strength=0.5)
    assert result.images[0].size == (64, 72) and result.params["fill"] == fill


def test_mask_is_saved_beside_the_result_and_named_in_its_recipe(studio, photo, square):
    result = studio.inpaint(photo, square, "a red fox", batch_size=2, **FAST)
    paths = studio.save(result)
    images, mask = paths[:2], paths[2]
    assert mask.parent == images[0].parent and mask.name.endswith("-mask.png")
    assert np.array_equal(np.asarray(Image.open(mask)), np.asarray(square))
    for path in images:
        recipe = Studio.read_recipe(path)
        assert recipe["mask"] == mask.name and recipe["task"] == "inpaint"
        parameters = Image.open(path).text["parameters"]
        assert "Mask blur: 4" in parameters and "Inpaint area: Whole picture" in parameters
        assert "Denoising strength: 1.0" in parameters


def test_infotext_reads_back_as_an_inpaint_recipe():
    from studio.outputs.infotext import format_infotext, parse_infotext

    text = format_infotext(dict(prompt="a fox", steps=2, seed=1, width=64, height=64, mask_blur=4, strength=0.75,
                                inpaint_area="masked", padding=32, mask_mode="unmasked"))
    assert "Inpaint area: Only masked" in text and "Masked area padding: 32" in text
    assert "Mask mode: Inpaint not masked" in text
    recipe = parse_infotext(text)
    assert recipe["task"] == "inpaint" and recipe["inpaint_area"] == "masked" and recipe["mask_mode"] == "unmasked"


def test_inpaint_shares_weights_with_text_to_image(fresh_studio, photo, square):
    fresh_studio.inpaint(photo, square, "a fox", **FAST)
    model = fresh_studio.model_ref("image")
    t2i = fresh_studio.models.get(fresh_studio._key("text_to_image", model), None)
    inpaint = fresh_studio.models.get(fresh_studio._key("inpaint", model), None)
    assert inpaint.pipe.unet is t2i.pipe.unet


def test_previews_and_callback(studio, photo, square):
    seen = []
    result = studio.inpaint(photo, square, "a fox", preview_every=1, callback=lambda *a: seen.append(a[:2]), **FAST)
    assert seen == [(1, 2), (2, 2)] and len(result.previews) == 2


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(mask_blur=-1), "mask_blur"),
        (dict(mask_blur=65), "mask_blur"),
        (dict(inpaint_area="all"), "inpaint_area"),
        (dict(mask_mode="inside"), "mask_mode"),
        (dict(padding=-4), "padding"),
        (dict(strength=0), "strength"),
        (dict(strength=0.1, steps=2), "strength"),
        (dict(width=500), "width"),
        (dict(prompt=""), "prompt"),
    ],
)
def test_inpaint_rejects_bad_fields(studio, photo, square, kwargs, field):
    with pytest.raises(ValueError, match=field):
        studio.inpaint(**{"image": photo, "mask": square, "prompt": "a fox", "steps": 2, **kwargs})


def test_inpaint_rejects_bad_masks(studio, photo):
    for mask, words in [(Image.new("L", (32, 32), 255), "mask is 32x32"), (Image.new("L", (64, 64), 0), "mask has no white"),
                        (None, "mask is missing"), ("nope.png", "mask file")]:
        with pytest.raises(ValueError, match=words):
            studio.inpaint(photo, mask, "a fox", steps=2)


@pytest.mark.parametrize(
    "kwargs, field",
    [(dict(left=-8), "left"), (dict(up=2000), "up"), (dict(), "nothing to add"), (dict(left=8, fill="paint"), "fill"),
     (dict(left=8, mask_blur=-1), "mask_blur")],
)
def test_outpaint_rejects_bad_fields(studio, photo, kwargs, field):
    with pytest.raises(ValueError, match=field):
        studio.outpaint(photo, "a fox", steps=2, **kwargs)


def test_batch_and_cli_run_inpaint(tmp_path, photo, square):
    import subprocess
    import sys

    from studio.serving.batch import run_batch

    photo.save(tmp_path / "in.png")
    square.save(tmp_path / "mask.png")
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"task": "inpaint", "image": "in.png", "mask": "mask.png", "prompt": "a fox", "seed": 1,
                                "steps": 2}) + "\n" + json.dumps({"task": "outpaint", "image": "in.png", "prompt": "a fox",
                                                                   "left": 8, "seed": 1, "steps": 2}) + "\n")
    counts = run_batch(jobs, tmp_path / "out", preset="tiny", progress=False)
    assert counts["done"] == 2
    rows = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert any(name.endswith("-mask.png") for name in rows[0]["outputs"])
    done = subprocess.run([sys.executable, "-m", "studio", "inpaint", str(tmp_path / "in.png"), str(tmp_path / "mask.png"),
                           "a fox", "--steps", "2", "--seed", "1", "--preset", "tiny", "--out", str(tmp_path / "cli")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sum(line.endswith(".png") for line in done.stdout.splitlines()) == 2


def test_the_ui_turns_painted_layers_into_a_mask():
    from studio.ui.inpaint_tab import painted_mask

    layer = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    layer.paste((255, 255, 255, 255), (0, 0, 10, 10))
    mask = painted_mask({"background": None, "layers": [layer], "composite": None})
    assert mask.size == (64, 64) and mask.getpixel((5, 5)) == 255 and mask.getpixel((20, 20)) == 0
    assert painted_mask({"layers": [Image.new("RGBA", (64, 64))]}) is None

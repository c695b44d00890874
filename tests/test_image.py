"""Text-to-image and image-to-image on the tiny SD model."""

import numpy as np
import pytest
import torch
from PIL import Image

from pipelines.image import fit_size

FOX = dict(seed=3, steps=2, width=64, height=64)


def pixels(result, index=0):
    return np.asarray(result.images[index])


def test_same_seed_same_pixels_other_seed_other_pixels(studio):
    first = studio.text_to_image("a red fox in the snow", **FOX)
    again = studio.text_to_image("a red fox in the snow", **FOX)
    other = studio.text_to_image("a red fox in the snow", **{**FOX, "seed": 4})
    assert np.array_equal(pixels(first), pixels(again))
    assert not np.array_equal(pixels(first), pixels(other))
    assert first.seeds == [3] and first.params["seed"] == 3
    assert first.images[0].size == (64, 64)


def test_equals_raw_diffusers_on_the_same_folder(studio):
    from diffusers import StableDiffusionPipeline

    result = studio.text_to_image("a red fox in the snow", **FOX)
    # in the format the studio picked (the recipe says which), as a user of diffusers would load it
    raw = StableDiffusionPipeline.from_pretrained(studio.model_ref("image", result.params["model"]),
                                                  dtype=getattr(torch, result.params["dtype"]))
    raw.set_progress_bar_config(disable=True)
    image = raw(
        "a red fox in the snow",
        num_inference_steps=2,
        guidance_scale=result.params["guidance"],
        width=64,
        height=64,
        generator=torch.Generator().manual_seed(3),
    ).images[0]
    assert np.array_equal(np.asarray(image), pixels(result))


def test_recipe_is_complete(studio):
    params = studio.text_to_image("a fox", negative_prompt="blurry", guidance=5, **FOX).params
    assert params["task"] == "text_to_image"
    assert params["negative_prompt"] == "blurry"
    assert params["guidance"] == 5.0
    assert params["scheduler"] == "Euler"
    assert params["preset"] == "tiny"
    assert params["dtype"] == "float32"  # the tiny preset's, on every machine
    for key in ("model", "steps", "width", "height", "seed", "batch_size", "device"):
        assert key in params


def test_seed_is_drawn_and_recorded_when_absent(studio):
    result = studio.text_to_image("a fox", steps=1)
    again = studio.text_to_image("a fox", steps=1, seed=result.seeds[0])
    assert np.array_equal(pixels(result), pixels(again))


def test_batch_image_i_matches_single_run_with_seed_plus_i(studio):
    batch = studio.text_to_image("a fox", **{**FOX, "seed": 10}, batch_size=2)
    second = studio.text_to_image("a fox", **{**FOX, "seed": 11})
    assert batch.seeds == [10, 11]
    # Same starting noise; the UNet's matmuls round differently at another batch
    # size, so pixels may differ by one level at most.
    difference = np.abs(pixels(batch, 1).astype(int) - pixels(second).astype(int))
    assert difference.max() <= 1


def test_scheduler_choice_changes_the_sampler(studio):
    euler_a = studio.text_to_image("a fox", scheduler="euler a", **FOX)
    assert euler_a.params["scheduler"] == "Euler a"
    default = studio.text_to_image("a fox", **FOX)
    assert default.params["scheduler"] == "Euler"  # the model's own scheduler is back


def test_previews_show_the_denoising_steps(studio):
    seen = []
    result = studio.text_to_image("a fox", preview_every=1, callback=lambda step, total, preview: seen.append((step, total)), **FOX)
    assert len(result.previews) == 2
    assert seen == [(1, 2), (2, 2)]
    assert all(p.size == (64, 64) for p in result.previews)


def test_image_to_image_shares_weights_with_text_to_image(fresh_studio):
    source = fresh_studio.text_to_image("a fox", **FOX).images[0]
    result = fresh_studio.image_to_image(source, "a watercolor fox", strength=0.6, seed=1)
    kinds = {entry["kind"]: entry for entry in fresh_studio.loaded_models()}
    assert set(kinds) == {"text_to_image", "image_to_image"}
    t2i = fresh_studio.models.get(fresh_studio._key("text_to_image", fresh_studio.model_ref("image", result.params["model"])), None)
    i2i = fresh_studio.models.get(fresh_studio._key("image_to_image", fresh_studio.model_ref("image", result.params["model"])), None)
    assert i2i.pipe.unet is t2i.pipe.unet and i2i.pipe.vae is t2i.pipe.vae
    assert fresh_studio.models.resident_bytes() == kinds["text_to_image"]["bytes"]
    assert result.params["strength"] == 0.6 and result.images[0].size == (64, 64)


def test_image_to_image_is_reproducible_and_follows_strength(studio):
    source = Image.new("RGB", (64, 64), (200, 30, 30))
    weak = studio.image_to_image(source, "a fox", strength=0.3, seed=1, steps=4)
    again = studio.image_to_image(source, "a fox", strength=0.3, seed=1, steps=4)
    strong = studio.image_to_image(source, "a fox", strength=1.0, seed=1, steps=4)
    assert np.array_equal(pixels(weak), pixels(again))
    assert not np.array_equal(pixels(weak), pixels(strong))


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "P", "I;16"])
def test_image_to_image_takes_odd_but_valid_images(studio, mode):
    source = Image.new("RGB", (72, 64), (10, 120, 200)).convert(mode)
    result = studio.image_to_image(source, "a fox", strength=0.5, seed=1, steps=2)
    assert result.images[0].size == (72, 64)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(width=500), "width"),
        (dict(height=-64), "height"),
        (dict(steps=0), "steps"),
        (dict(steps=2.5), "steps"),
        (dict(guidance=float("nan")), "guidance"),
        (dict(batch_size=0), "batch_size"),
        (dict(seed=-5), "seed"),
        (dict(scheduler="nope"), "scheduler"),
        (dict(negative_prompt="a\x00b"), "negative_prompt"),
    ],
)
def test_text_to_image_rejects_bad_fields(studio, kwargs, field):
    with pytest.raises(ValueError, match=field):
        studio.text_to_image("a fox", **kwargs)


@pytest.mark.parametrize("prompt", ["", "   ", "a\x00fox", "x" * 5000, None, 42])
def test_text_to_image_rejects_bad_prompts(studio, prompt):
    with pytest.raises(ValueError, match="prompt"):
        studio.text_to_image(prompt, steps=1)


@pytest.mark.parametrize(
    "kwargs, field",
    [(dict(strength=1.5), "strength"), (dict(strength=0), "strength"), (dict(strength=0.1, steps=2), "strength")],
)
def test_image_to_image_rejects_bad_strength(studio, kwargs, field):
    with pytest.raises(ValueError, match=field):
        studio.image_to_image(Image.new("RGB", (64, 64)), "a fox", **kwargs)


def test_image_to_image_rejects_unreadable_images(studio, tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not an image")
    for image in [tmp_path / "bad.png", tmp_path / "missing.png", Image.new("RGB", (1, 1)), "", 3]:
        with pytest.raises(ValueError, match="image"):
            studio.image_to_image(image, "a fox")


def test_fit_size_keeps_aspect_within_bounds():
    assert fit_size(64, 64) == (64, 64)
    assert fit_size(500, 300) == (496, 296)
    assert fit_size(4000, 2000) == (2048, 1024)
    assert fit_size(20, 40) == (64, 128)


def test_many_prompts_in_one_pass_match_single_runs(studio):
    from pipelines.image import TextToImage

    model = studio.model_ref("image")
    with studio._use("text_to_image", model, TextToImage.from_pretrained) as pipe:
        results = pipe.many(["a fox", "a cat"], [5, 9], steps=2)
    assert [r.params["prompt"] for r in results] == ["a fox", "a cat"]
    assert [r.seeds for r in results] == [[5], [9]]
    for result in results:
        alone = studio.text_to_image(result.params["prompt"], seed=result.seeds[0], steps=2)
        assert np.abs(pixels(result).astype(int) - pixels(alone).astype(int)).max() <= 1

"""Tiny SD3 and FLUX.1-schnell through every image operation, or a clear refusal naming the family."""

import numpy as np
import pytest
from PIL import Image

from pipelines.families import of
from pipelines.image import ImageToImage, TextToImage
from studio import Studio, tiny

SIZE = dict(width=64, height=64)


@pytest.fixture(scope="module", params=["sd3", "flux"])
def family(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    preset = folder / f"{request.param}.toml"
    preset.write_text(f'[image]\nmodel = "tiny:{request.param}"\n[image.defaults]\nsteps = 2\n', encoding="utf-8")
    return request.param, Studio(preset=str(preset), outputs=folder / "outputs")


def test_native_size_and_size_step_come_from_the_model():
    sd3 = TextToImage.from_pretrained(str(tiny.ensure("sd3")))
    flux = TextToImage.from_pretrained(str(tiny.ensure("flux")))
    sd = TextToImage.from_pretrained(str(tiny.ensure("sd")))
    assert (sd3.family.name, sd3.native_size, sd3.family.size_step) == ("Stable Diffusion 3", 64, 16)  # 8 latents x 8
    assert (flux.family.name, flux.native_size, flux.family.size_step) == ("FLUX.1-schnell", 1024, 16)  # FluxPipeline's 128 latents
    assert (sd.family.name, sd.native_size, sd.family.size_step) == ("Stable Diffusion", 64, 8)
    assert not hasattr(sd3.pipe, "unet") and not hasattr(flux.pipe, "unet")


def test_text_to_image_with_previews_and_a_recipe(family):
    name, studio = family
    seen = []
    result = studio.text_to_image("a fox", seed=1, preview_every=1, callback=lambda *step: seen.append(step), **SIZE)
    assert result.images[0].size == (64, 64) and result.params["scheduler"] == "Euler"
    assert [(step, total) for step, total, _ in seen] == [(1, 2), (2, 2)]
    assert [preview.size for preview in result.previews] == [(64, 64), (64, 64)]
    again = studio.text_to_image("a fox", seed=1, scheduler="Euler", **SIZE)
    assert np.array_equal(np.asarray(again.images[0]), np.asarray(result.images[0]))
    assert result.params["model"] == f"tiny:{name}"  # named as the preset names it


def test_the_last_preview_is_the_image(family):
    _, studio = family
    result = studio.text_to_image("a fox", seed=2, preview_every=2, **SIZE)
    difference = np.abs(np.asarray(result.previews[-1], dtype=int) - np.asarray(result.images[0], dtype=int))
    assert difference.max() <= 1  # the same latents through the same VAE


def test_image_to_image_returns_the_requested_size(family):
    _, studio = family
    source = Image.new("RGB", (96, 64), (200, 120, 40))
    default = studio.image_to_image(source, "a fox", strength=0.5, steps=4, seed=1, preview_every=1)
    assert default.images[0].size == (96, 64) and (default.params["width"], default.params["height"]) == (96, 64)
    assert len(default.previews) == 2 and default.previews[0].size == (96, 64)
    wide = studio.image_to_image(source, "a fox", strength=0.6, steps=4, seed=1, width=128, height=64, scheduler="Euler")
    assert wide.images[0].size == (128, 64)


def test_batches_and_batched_prompts(family):
    _, studio = family
    batch = studio.text_to_image("a fox", seed=10, batch_size=2, **SIZE)
    assert batch.seeds == [10, 11] and len(batch.images) == 2
    with studio._use("text_to_image", studio.model_ref("image"), TextToImage.from_pretrained) as t2i:
        results = t2i.many(["a fox", "a cat"], [10, 11], steps=2, **SIZE)
    assert [r.params["prompt"] for r in results] == ["a fox", "a cat"]
    assert all(r.images[0].size == (64, 64) for r in results)


def test_vae_view_shows_sixteen_latent_channels(family):
    _, studio = family
    view = studio.vae_latents(Image.new("RGB", (64, 64), (10, 200, 90)))
    assert view.latent_shape == (16, 8, 8) and len(view.channels) == 16 and view.compression == 12.0


def test_saved_png_carries_the_infotext(family):
    _, studio = family
    result = studio.text_to_image("a fox", seed=4, **SIZE)
    png = studio.save(result)[0]
    text = Image.open(png).text["parameters"]
    assert "Sampler: Euler" in text and "Size: 64x64" in text and "Seed: 4" in text
    assert Studio.read_recipe(png)["scheduler"] == "Euler"


def test_samplers_of_another_kind_are_refused_naming_the_family(family):
    name, studio = family
    title = "FLUX.1-schnell" if name == "flux" else "Stable Diffusion 3"
    for scheduler in ("Heun", "DPM++ 2M Karras", "PLMS"):
        with pytest.raises(ValueError, match=f"{title} takes no sampler choice but its own flow-matching Euler"):
            studio.text_to_image("a fox", scheduler=scheduler, **SIZE)
    source = Image.new("RGB", (64, 64))
    with pytest.raises(ValueError, match=f"{title} takes no sampler choice"):
        studio.image_to_image(source, "a fox", scheduler="DPM++ 2M", steps=4)


def test_sizes_off_the_family_step_are_refused(family):
    name, studio = family
    title = "FLUX.1-schnell" if name == "flux" else "Stable Diffusion 3"
    with pytest.raises(ValueError, match=f"width must be a multiple of 16 for {title}, got 72"):
        studio.text_to_image("a fox", width=72, height=64)


def test_flux_refuses_a_negative_prompt_and_notes_unused_guidance(family):
    name, studio = family
    if name == "sd3":  # SD3 reads both
        result = studio.text_to_image("a fox", negative_prompt="blurry", seed=1, **SIZE)
        assert result.params["negative_prompt"] == "blurry" and "notices" not in result.params
        return
    with pytest.raises(ValueError, match="FLUX.1-schnell takes no negative prompt"):
        studio.text_to_image("a fox", negative_prompt="blurry", **SIZE)
    notices = studio.text_to_image("a fox", seed=1, **SIZE).params["notices"]
    assert notices == ["FLUX.1-schnell has no guidance: the guidance setting was not used"]


def test_image_to_image_shares_the_weights(family):
    _, studio = family
    with studio._use("text_to_image", studio.model_ref("image"), TextToImage.from_pretrained) as t2i:
        img2img = ImageToImage.from_text_to_image(t2i)
        assert img2img.pipe.transformer is t2i.pipe.transformer and img2img.family == of(t2i.pipe)


def test_the_gpu_preset_offers_sd35_medium_and_flux_schnell():
    from studio.library.presets import resolve

    alternatives = resolve("gpu").alternatives("image")
    assert "stabilityai/stable-diffusion-3.5-medium" in alternatives
    assert "black-forest-labs/FLUX.1-schnell" in alternatives

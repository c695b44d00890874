"""Step previews through the tiny autoencoder, and the fall back to the full VAE."""

import shutil

import numpy as np
import pytest

from pipelines import preview
from pipelines.image import TextToImage

FOX = dict(seed=3, steps=3, width=64, height=64)


@pytest.fixture(scope="module")
def tiny_sd(studio):
    return studio.model_ref("image")


@pytest.fixture(scope="module")
def without_decoder(tiny_sd, tmp_path_factory):
    """The tiny SD folder without its preview_decoder/: no tiny autoencoder anywhere (offline)."""
    folder = tmp_path_factory.mktemp("sd") / "sd"
    shutil.copytree(tiny_sd, folder, ignore=shutil.ignore_patterns("preview_decoder"))
    return str(folder)


def test_previews_come_from_the_tiny_autoencoder_and_leave_the_image_alone(studio, tiny_sd):
    from diffusers import AutoencoderTiny

    seen = []
    with_previews = studio.text_to_image("a red fox", preview_every=1, callback=lambda s, t, p: seen.append((s, p)), **FOX)
    plain = studio.text_to_image("a red fox", **FOX)
    assert np.array_equal(np.asarray(with_previews.images[0]), np.asarray(plain.images[0]))
    assert [s for s, _ in seen] == [1, 2, 3] and all(p is not None and p.size == (64, 64) for _, p in seen)
    assert len(with_previews.previews) == 3
    with studio._use("text_to_image", tiny_sd, TextToImage.from_pretrained) as pipe:
        assert isinstance(pipe.preview_decoder, AutoencoderTiny)
        assert pipe.preview_decoder in pipe.modules()  # counted in the memory budget
        assert pipe.image_to_image().preview_decoder is pipe.preview_decoder


def test_a_preview_is_the_tiny_decoders_picture_of_the_latents(tiny_sd):
    import torch
    from diffusers import AutoencoderTiny

    pipe = TextToImage.from_pretrained(tiny_sd, device="cpu")
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    decoder = AutoencoderTiny.from_pretrained(f"{tiny_sd}/preview_decoder").eval()
    with torch.no_grad():
        pixels = decoder.decode(latents).sample.clamp(-1, 1)
    expected = np.asarray(pipe.pipe.image_processor.postprocess(pixels, output_type="pil")[0])
    assert np.array_equal(np.asarray(pipe.preview(latents, 64, 64)), expected)


def test_without_a_tiny_autoencoder_previews_use_the_full_vae(without_decoder):
    import torch

    pipe = TextToImage.from_pretrained(without_decoder, device="cpu")
    assert pipe.preview_decoder is None  # offline, and the family's hub model is not in the cache
    latents = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    assert np.array_equal(np.asarray(pipe.preview(latents, 64, 64)), np.asarray(pipe.decode_latents(latents, 64, 64)[0]))
    result = pipe("a red fox", preview_every=2, **FOX)
    assert len(result.previews) == 2  # steps 2 and 3 (the last)


def test_a_decoder_for_other_latents_is_not_used(tiny_sd, tmp_path):
    from diffusers import AutoencoderTiny, StableDiffusionPipeline

    folder = tmp_path / "sd"
    shutil.copytree(tiny_sd, folder, ignore=shutil.ignore_patterns("preview_decoder"))
    AutoencoderTiny(encoder_block_out_channels=(8,) * 4, decoder_block_out_channels=(8,) * 4, num_encoder_blocks=(1,) * 4,
                    num_decoder_blocks=(1,) * 4, latent_channels=16).save_pretrained(folder / "preview_decoder")
    assert preview.load_decoder(StableDiffusionPipeline.from_pretrained(folder), str(folder)) is None


@pytest.mark.parametrize("name, family", [("StableDiffusionPipeline", "sd"), ("StableDiffusionXLImg2ImgPipeline", "sdxl"),
                                          ("StableDiffusion3Pipeline", "sd3"), ("FluxPipeline", "flux")])
def test_the_family_picks_the_hub_decoder(name, family):
    assert preview.family(type(name, (), {})()) == family
    assert preview.FAMILY_DECODERS[family].startswith("madebyollin/tae")


def test_by_default_a_watched_generation_is_previewed_within_the_budget(studio, without_decoder):
    seen = []
    watched = studio.text_to_image("a red fox", callback=lambda s, t, p: seen.append(p), **{**FOX, "steps": 4})
    assert seen[0] is not None and seen[-1] is None  # the first step shows the cost, the last is the image itself
    assert 1 <= len(watched.previews) <= 3
    assert studio.text_to_image("a red fox", **FOX).previews == []  # nobody watches: no previews
    seen.clear()
    TextToImage.from_pretrained(without_decoder, device="cpu")("a red fox", callback=lambda s, t, p: seen.append(p), **FOX)
    assert seen == [None, None, None]  # the full VAE is too dear to preview unasked


def test_the_budget_keeps_previews_to_their_share():
    budget = preview.PreviewBudget(share=0.05)
    assert budget.allows(1, 10) and not budget.allows(10, 10)
    budget.started -= 1.0  # one second of denoising so far
    budget.spent = budget.last = 0.02
    assert budget.allows(2, 10)  # 0.04 s of previews within 5% of 1.02 s
    budget.spent = 0.2
    assert not budget.allows(3, 10)

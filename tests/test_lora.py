"""LoRA and embeddings: applied to the request that asks only, named in the recipe and the infotext."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from studio import Studio, tiny
from studio.outputs.infotext import parse_infotext

FOX = dict(seed=3, steps=2, width=64, height=64)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    (models / "Lora").mkdir()
    shutil.copy(tiny.ensure("lora") / "pytorch_lora_weights.safetensors", models / "Lora" / "detail.safetensors")
    (models / "embeddings").mkdir()
    torch.manual_seed(0)
    save_file({"emb_params": torch.randn(1, 32) * 5}, models / "embeddings" / "foxstyle.safetensors")
    return Studio(preset="tiny", outputs=tmp_path_factory.mktemp("out"), models_dir=models)


def pixels(result) -> np.ndarray:
    return np.asarray(result.images[0])


def test_lora_changes_pixels_and_leaves_no_trace(library):
    baseline = library.text_to_image("a red fox", **FOX)
    tagged = library.text_to_image("a red fox <lora:detail:0.8>", **FOX)
    assert not np.array_equal(pixels(tagged), pixels(baseline))
    assert np.array_equal(pixels(library.text_to_image("a red fox", **FOX)), pixels(baseline))  # the next request
    assert np.array_equal(pixels(library.text_to_image("a red fox <lora:detail:0>", **FOX)), pixels(baseline))
    given = library.text_to_image("a red fox", loras="detail:0.8", **FOX)
    assert np.array_equal(pixels(given), pixels(tagged))  # the tag and the argument are one choice
    assert tagged.params["prompt"] == "a red fox <lora:detail:0.8>"
    assert given.params["loras"] == [{"name": "detail", "weight": 0.8}]
    assert tagged.params["lora_hashes"] == given.params["lora_hashes"] and len(tagged.params["lora_hashes"]["detail"]) == 12


def test_lora_in_image_to_image_and_then_gone(library):
    source = Image.new("RGB", (64, 64), (120, 80, 40))
    baseline = library.image_to_image(source, "a fox", strength=0.6, **FOX)
    tagged = library.image_to_image(source, "a fox <lora:detail>", strength=0.6, **FOX)
    assert not np.array_equal(pixels(tagged), pixels(baseline))
    assert np.array_equal(pixels(library.text_to_image("a fox", **FOX)), pixels(library.text_to_image("a fox", **FOX)))
    assert np.array_equal(pixels(library.image_to_image(source, "a fox", strength=0.6, **FOX)), pixels(baseline))


def test_concurrent_requests_with_and_without_a_lora_do_not_mix(library):
    expected = {"": pixels(library.text_to_image("a fox", **FOX)), "detail:1": pixels(library.text_to_image("a fox", loras="detail:1", **FOX))}
    got: dict[str, list] = {key: [] for key in expected}

    def run(key):
        for _ in range(2):
            got[key].append(pixels(library.text_to_image("a fox", loras=key or None, **FOX)))

    threads = [threading.Thread(target=run, args=(key,)) for key in expected]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for key, images in got.items():
        assert all(np.array_equal(image, expected[key]) for image in images), key


def test_infotext_carries_lora_hashes_as_a1111_writes_them(library):
    result = library.text_to_image("a red fox <lora:detail:0.5>", loras={"detail": 0.25}, **FOX)
    path = library.save(result)[0]
    text = Image.open(path).text["parameters"]
    assert text.splitlines()[0] == "a red fox <lora:detail:0.5> <lora:detail:0.25>"
    digest = result.params["lora_hashes"]["detail"]
    assert f'Lora hashes: "detail: {digest}"' in text
    assert parse_infotext(text)["lora_hashes"] == {"detail": digest}  # read back as the recipe holds it


def test_unknown_lora_and_bad_weight_are_named(library):
    with pytest.raises(ValueError, match="LoRA 'nope' is not in the models library.*available: Lora/detail.safetensors"):
        library.text_to_image("a fox <lora:nope:1>", **FOX)
    with pytest.raises(ValueError, match="weight must be a number"):
        library.text_to_image("a fox <lora:detail:lots>", **FOX)
    with pytest.raises(ValueError, match="weight must be a number"):
        library.text_to_image("a fox", loras={"detail": 99}, **FOX)


def test_embedding_is_used_by_name_and_removed_after(library, tmp_path):
    baseline = library.text_to_image("a fox", **FOX)
    styled = library.text_to_image("a fox foxstyle", **FOX)
    plain = Studio(preset="tiny", outputs=tmp_path, models_dir=tmp_path / "none").text_to_image("a fox foxstyle", **FOX)
    assert styled.params["embeddings"] == ["foxstyle"]
    assert not np.array_equal(pixels(styled), pixels(plain))
    assert np.array_equal(pixels(library.text_to_image("a fox", **FOX)), pixels(baseline))


def test_a_kept_lora_counts_in_the_memory_budget(library):
    """The adapter stays loaded (disabled) for the next request naming it: the cache counts it."""
    studio = Studio(preset="tiny", outputs=library.outputs, models_dir=library.library.root)
    studio.upscale(Image.new("RGB", (16, 16)))
    studio.text_to_image("a fox", **FOX)
    before = {row["kind"]: row["bytes"] for row in studio.loaded_models()}
    studio.models.budget = studio.models.resident_bytes() + 1  # room for both models, not for an adapter more
    studio.text_to_image("a fox <lora:detail>", **FOX)
    after = {row["kind"]: row["bytes"] for row in studio.loaded_models()}
    assert after["text_to_image"] > before["text_to_image"]  # the adapter is counted
    assert "upscale" not in after  # and the idle upscaler went to make room for it
    assert studio.models.resident_bytes() <= studio.models.budget

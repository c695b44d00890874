"""ControlNet on the tiny SD 1.x and SDXL models: guidance changes the pixels, scale 0 changes nothing."""

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from studio import Studio

FAST = dict(seed=3, steps=2)


@pytest.fixture(scope="module")
def disc():
    image = Image.new("RGB", (64, 64), (0, 0, 0))
    ImageDraw.Draw(image).ellipse((10, 10, 50, 50), fill=(255, 255, 255))
    return image


def pixels(result):
    return np.asarray(result.images[0])


@pytest.mark.parametrize("image_model, net", [(None, "tiny:controlnet"), ("sdxl", "tiny:controlnet-sdxl")])
def test_a_controlnet_changes_the_pixels_and_scale_zero_gives_the_pixels_without(tmp_path, disc, image_model, net):
    studio = Studio(preset="tiny", outputs=tmp_path) if image_model is None else _sdxl_studio(tmp_path)
    plain = studio.text_to_image("a fox", **FAST)
    guided = studio.text_to_image("a fox", control=[{"model": net, "image": disc, "preprocessor": "canny"}], **FAST)
    off = studio.text_to_image("a fox", control=[{"model": net, "image": disc, "preprocessor": "canny", "scale": 0}], **FAST)
    assert not np.array_equal(pixels(plain), pixels(guided))
    assert np.array_equal(pixels(plain), pixels(off))
    again = studio.text_to_image("a fox", control=[{"model": net, "image": disc, "preprocessor": "canny"}], **FAST)
    assert np.array_equal(pixels(guided), pixels(again))


def _sdxl_studio(folder):
    from studio import tiny

    preset = folder / "sdxl.toml"
    preset.write_text(f'description = "tiny SDXL"\n[image]\nmodel = "{tiny.ensure("sdxl")}"\n')
    return Studio(preset=str(preset), outputs=folder / "out")


def test_depth_and_image_to_image_and_two_controlnets(studio, disc):
    depth = {"model": "tiny:controlnet", "image": disc, "preprocessor": "depth", "depth_model": "tiny:depth", "end": 0.5}
    result = studio.image_to_image(disc, "a fox", strength=1.0, control=[depth], **FAST)
    assert result.images[0].size == (64, 64) and result.params["control"][0]["preprocessor"] == "depth"
    both = studio.text_to_image("a fox", control=[depth, {"model": "tiny:controlnet", "image": disc}], **FAST)
    assert len(both.params["control"]) == 2


def test_the_control_map_is_shown_before_generating(studio, disc):
    edges = np.asarray(studio.control_map(disc, "canny"))
    assert edges.shape == (64, 64, 3) and set(np.unique(edges)) <= {0, 255} and edges.max() == 255
    assert edges[32, 32].max() == 0  # the inside of the disc has no edge
    depth = studio.control_map(disc, "depth", depth_model="tiny:depth")
    assert depth.size == (64, 64)
    assert np.array_equal(np.asarray(studio.control_map(disc, "none")), np.asarray(disc))


def test_recipe_and_a1111_infotext(studio, disc):
    result = studio.text_to_image("a fox", control=[{"model": "tiny:controlnet", "image": disc, "preprocessor": "canny",
                                                     "scale": 0.8}], **FAST)
    assert result.params["control"] == [{"model": "tiny:controlnet", "preprocessor": "canny", "scale": 0.8, "start": 0.0,
                                         "end": 1.0, "low": 100, "high": 200}]
    text = Image.open(studio.save(result)[0]).text["parameters"]
    assert 'ControlNet 0: "Module: canny, Model: tiny:controlnet, Weight: 0.8, Threshold A: 100, Threshold B: 200, ' \
           'Guidance Start: 0.0, Guidance End: 1.0"' in text


DISC = object()  # stands for the disc image in the cases below


@pytest.mark.parametrize("entry, field", [
    ({"image": DISC}, "control\\[0\\] model"), ({"model": "tiny:controlnet"}, "control\\[0\\] image is missing"),
    ({"preprocessor": "hed"}, "control\\[0\\] preprocessor"), ({"scale": 3}, "control\\[0\\] scale"),
    ({"start": 0.6, "end": 0.4}, "start"), ({"weight": 1}, "unknown key"), ({"low": 300, "preprocessor": "canny"}, "low"),
])
def test_bad_control_entries_are_named(studio, disc, entry, field):
    full = entry if "model" in entry or "image" in entry else {"model": "tiny:controlnet", "image": DISC, **entry}
    full = {key: disc if value is DISC else value for key, value in full.items()}
    with pytest.raises(ValueError, match=field):
        studio.text_to_image("a fox", control=[full], steps=1)


def test_control_with_a_missing_model_names_it(studio, disc):
    from pipelines.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match="no-such-controlnet"):
        studio.text_to_image("a fox", control=[{"model": "./no-such-controlnet", "image": disc}], steps=1)


def test_batch_runs_a_controlnet_job(tmp_path, disc):
    from studio.serving.batch import run_batch

    disc.save(tmp_path / "disc.png")
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"task": "text_to_image", "prompt": "a fox", "seed": 1, "steps": 2,
                                "control": [{"model": "tiny:controlnet", "image": "disc.png", "preprocessor": "canny"}]}) + "\n")
    assert run_batch(jobs, tmp_path / "out", preset="tiny", progress=False)["done"] == 1


def test_a_controlnet_of_the_models_folder_is_found_by_its_name_and_listed(tmp_path, disc):
    import shutil

    from studio import tiny

    shutil.copytree(tiny.ensure("controlnet"), tmp_path / "models" / "ControlNet" / "mine")
    studio = Studio(preset="tiny", outputs=tmp_path / "out", models_dir=tmp_path / "models")
    listed = [(row["name"], row["source"]) for row in studio.list_models("controlnet")]
    assert ("tiny:controlnet", "preset") in listed and ("ControlNet/mine", "folder") in listed, listed
    by_name = studio.text_to_image("a fox", control=[{"model": "mine", "image": disc}], **FAST)
    by_tiny = studio.text_to_image("a fox", control=[{"model": "tiny:controlnet", "image": disc}], **FAST)
    assert np.array_equal(pixels(by_name), pixels(by_tiny))  # the same weights, found under ControlNet/
    assert by_name.params["control"][0]["model"] == "mine"  # the recipe names it as the user did


def test_control_guides_both_passes_of_a_hires_fix(studio, disc):
    hires = {"scale": 2, "steps": 2, "strength": 0.5}
    plain = studio.text_to_image("a fox", hires=hires, **FAST)
    guided = studio.text_to_image("a fox", hires=hires, control=[{"model": "tiny:controlnet", "image": disc}], **FAST)
    off = studio.text_to_image("a fox", hires=hires, control=[{"model": "tiny:controlnet", "image": disc, "scale": 0}],
                               **FAST)
    assert guided.images[0].size == (128, 128) and guided.params["hires"]["scale"] == 2
    assert guided.params["control"][0]["model"] == "tiny:controlnet"
    assert not np.array_equal(pixels(plain), pixels(guided))
    assert np.array_equal(pixels(plain), pixels(off))  # scale 0 in both passes: the plain hires fix

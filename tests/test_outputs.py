"""Saving with recipes: PNG infotext in the A1111 layout, atomic never-overwriting writes."""

import json
import os

import pytest
from PIL import Image

from pipelines.results import ImageResult
from studio import Studio
from studio.outputs import OutputError, write_files
from studio.outputs.infotext import format_infotext, parse_infotext

FOX = dict(seed=3, steps=2, width=64, height=64)


def test_saving_twice_writes_two_files_with_the_recipe(studio):
    result = studio.text_to_image("a red fox in the snow", **FOX)
    first, second = studio.save(result)[0], studio.save(result)[0]
    assert first != second and first.exists() and second.exists()
    assert first.parent.parent == studio.outputs
    recipe = Studio.read_recipe(first)
    assert recipe["seed"] == 3 and recipe["steps"] == 2 and recipe["prompt"] == "a red fox in the snow"
    assert recipe["model"] == result.params["model"]
    infotext = Image.open(first).text["parameters"]
    lines = infotext.splitlines()
    assert lines[0] == "a red fox in the snow"
    assert "Steps: 2" in lines[-1] and "Seed: 3" in lines[-1] and "Size: 64x64" in lines[-1]
    assert lines[-1].startswith("Steps: 2, Sampler: Euler, CFG scale: 7.5, Seed: 3, Size: 64x64, Model: ")


def test_each_image_of_a_batch_is_a_file_with_its_own_seed(studio):
    paths = studio.save(studio.text_to_image("a fox", batch_size=2, **FOX))
    assert [Studio.read_recipe(p)["seed"] for p in paths] == [3, 4]


def test_infotext_round_trips_through_the_a1111_layout():
    recipe = {"prompt": "a fox, in snow", "negative_prompt": "blurry", "steps": 20, "scheduler": "DPM++ 2M Karras",
              "guidance": 7.0, "seed": 42, "width": 512, "height": 768, "model": "/models/sd-turbo", "strength": 0.5}
    text = format_infotext(recipe)
    assert text.splitlines()[1] == "Negative prompt: blurry"
    parsed = parse_infotext(text)
    for key in ("prompt", "negative_prompt", "steps", "scheduler", "guidance", "seed", "width", "height", "strength"):
        assert parsed[key] == recipe[key], key
    assert parsed["model"] == "sd-turbo" and parsed["task"] == "image_to_image"


def test_an_automatic1111_png_reads_back(tmp_path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "masterpiece, a castle\nNegative prompt: lowres\nSteps: 28, Sampler: Euler a, "
                                "Schedule type: Karras, CFG scale: 6.5, Seed: 1234, Size: 512x512, Model hash: abc, "
                                'Model: dreamshaper_8, Lora hashes: "x: 1, y: 2", Version: v1.10.1')
    path = tmp_path / "a1111.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    recipe = Studio.read_recipe(path)
    assert recipe["prompt"] == "masterpiece, a castle" and recipe["negative_prompt"] == "lowres"
    assert (recipe["steps"], recipe["scheduler"], recipe["guidance"], recipe["seed"]) == (28, "Euler a", 6.5, 1234)
    assert recipe["lora_hashes"] == {"x": "1", "y": "2"}


def test_read_recipe_refuses_files_without_one(tmp_path):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    for path in (plain, tmp_path / "missing.png"):
        with pytest.raises(ValueError):
            Studio.read_recipe(path)


def test_writes_never_overwrite_and_leave_no_temporary_files(tmp_path):
    paths = [write_files(tmp_path, "x", {".txt": lambda f, i=i: f.write(str(i).encode())})[0] for i in range(3)]
    assert [p.read_text() for p in paths] == ["0", "1", "2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00001-x.txt", "00002-x.txt", "00003-x.txt"]


def test_a_failing_write_leaves_no_partial_file(tmp_path):
    def broken(file):
        file.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="outputs folder"):
        write_files(tmp_path, "x", {".png": lambda f: f.write(b"ok"), ".json": broken})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_outputs_folder_is_a_clear_error(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    result = ImageResult([Image.new("RGB", (8, 8))], [1], {"task": "text_to_image", "prompt": "x"})
    with pytest.raises(OutputError, match="STUDIO_OUTPUTS"):
        Studio(preset="tiny", outputs=folder).save(result)


def test_an_outputs_path_that_is_a_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    result = ImageResult([Image.new("RGB", (8, 8))], [1], {"task": "text_to_image", "prompt": "x"})
    with pytest.raises(OutputError, match="outputs folder"):
        Studio(preset="tiny", outputs=blocker).save(result)
    assert blocker.read_text() == "x"


def test_the_json_recipe_holds_everything(studio):
    path = studio.save(studio.text_to_image("a fox", negative_prompt="fog", **FOX))[0]
    recipe = json.loads(Image.open(path).text["recipe"])
    assert recipe["negative_prompt"] == "fog" and recipe["task"] == "text_to_image" and "studio_version" in recipe

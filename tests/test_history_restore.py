"""History's "restore settings" puts a recipe's model back in the dropdown of the tab that made it."""

import pytest

from studio import Studio
from studio.ui import build_app


@pytest.fixture(scope="module")
def app(studio):
    return build_app(studio)


def dependency(app, *, name: str = "", api_name: str = ""):
    return next(d for d in app.fns.values()
                if (name and getattr(d.fn, "__name__", "") == name) or (api_name and d.api_name == api_name))


def is_picker(component) -> bool:
    return "model-picker" in (getattr(component, "elem_classes", None) or [])


def restored_models(app, recipe: dict) -> dict:
    """The model dropdowns the restore writes to -> the value written."""
    restore = dependency(app, name="restore_recipe")
    updates = restore.fn(recipe)
    return {component._id: update["value"] for component, update in zip(restore.outputs, updates, strict=True)
            if is_picker(component) and "value" in update}


@pytest.mark.parametrize("task, api_name, model", [
    ("text_to_image", "text_to_image", "tiny:sdxl"),
    ("image_to_image", "image_to_image", "Stable-diffusion/dreamshaper_8.safetensors"),
    ("text_to_text", "text_to_text", "HuggingFaceTB/SmolLM2-360M-Instruct"),
    ("speech_to_text", "speech_to_text", "openai/whisper-base"),
    ("text_to_speech", "text_to_speech", "facebook/mms-tts-fra"),
    ("upscale", "upscale", "tiny:upscaler"),
])
def test_the_recipes_model_is_restored_into_its_tabs_dropdown_only(app, task, api_name, model):
    picker = next(c for c in dependency(app, api_name=api_name).inputs if is_picker(c))
    assert restored_models(app, {"task": task, "model": model, "seed": 3}) == {picker._id: model}


def test_a_saved_image_restores_the_model_it_was_made_with(app, studio):
    made = studio.text_to_image("a fox", seed=1, steps=1, width=64, height=64, model="tiny:sdxl")
    recipe = Studio.read_recipe(studio.save(made)[0])
    picker = next(c for c in dependency(app, api_name="text_to_image").inputs if is_picker(c))
    assert restored_models(app, recipe) == {picker._id: "tiny:sdxl"}


def restored_values(app, recipe: dict, api_name: str) -> dict:
    """The inputs of endpoint `api_name` the restore writes to, by parameter position -> the value written."""
    restore = dependency(app, name="restore_recipe")
    updates = dict(zip((c._id for c in restore.outputs), restore.fn(recipe), strict=True))
    inputs = dependency(app, api_name=api_name).inputs
    return {index: updates[c._id]["value"] for index, c in enumerate(inputs)
            if isinstance(updates.get(c._id), dict) and "value" in updates[c._id]}


def test_a_controlnet_unit_is_restored_from_the_recipes_list(app, studio):
    from PIL import Image

    disc = Image.new("RGB", (64, 64), (255, 255, 255))
    made = studio.text_to_image("a fox", seed=1, steps=1, control=[{"model": "tiny:controlnet", "image": disc,
                                                                     "preprocessor": "none", "scale": 0.6, "end": 0.8}])
    values = restored_values(app, Studio.read_recipe(studio.save(made)[0]), "text_to_image")
    written = set(values.values())
    assert {"tiny:controlnet", "none", 0.6, 0.8} <= written, values


def test_an_xy_plot_restores_its_settings_and_axes_into_text_to_image(app, studio):
    plot = studio.xy_plot("text_to_image", x=("steps", [1, 2]), y=("prompt_sr", ["fox", "cat, red"]),
                          prompt="a fox", seed=9, guidance=3.5)
    values = restored_values(app, Studio.read_recipe(studio.save(plot)[0]), "xy_plot")
    written = list(values.values())
    assert "a fox" in written and 9 in written and 3.5 in written
    assert ["steps", "1, 2", "prompt_sr", "fox | cat, red"] == written[-4:], values

"""A preset's per-model defaults ([image.model_defaults."name"]) apply when that model runs, never over the caller."""

import pytest

from studio import Studio

PRESET = """
[image]
model = "tiny:sd"
alternatives = ["tiny:sdxl"]
[image.defaults]
steps = 3
guidance = 6.0
[image.model_defaults."tiny:sdxl"]
steps = 2
guidance = 1.5

[text]
model = "tiny:chat"
[text.model_defaults."tiny:chat"]
max_new_tokens = 3

[runtime]
dtype = "float32"
"""


def studio_with(tmp_path, text=PRESET, **kwargs):
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return Studio(preset=str(path), outputs=tmp_path / "out", **kwargs)


def test_a_chosen_model_runs_with_its_own_defaults_and_the_others_with_the_sections(tmp_path):
    studio = studio_with(tmp_path)
    chosen = studio.text_to_image("a fox", seed=1, width=64, height=64, model="tiny:sdxl").params
    assert (chosen["model"], chosen["steps"], chosen["guidance"]) == ("tiny:sdxl", 2, 1.5)
    default = studio.text_to_image("a fox", seed=1, width=64, height=64).params
    assert (default["model"], default["steps"], default["guidance"]) == ("tiny:sd", 3, 6.0)
    redrawn = studio.image_to_image(studio.text_to_image("a fox", seed=1, width=64, height=64).images[0], "a cat",
                                    seed=1, model="tiny:sdxl").params
    assert (redrawn["steps"], redrawn["guidance"]) == (2, 1.5)


def test_what_the_caller_passes_wins_over_the_models_defaults(tmp_path):
    params = studio_with(tmp_path).text_to_image("a fox", seed=1, width=64, height=64, model="tiny:sdxl", steps=1).params
    assert (params["steps"], params["guidance"]) == (1, 1.5)


def test_the_presets_own_model_gets_its_table_when_no_model_is_named(tmp_path):
    studio = studio_with(tmp_path)
    assert studio.chat("hi", seed=1).params["max_new_tokens"] == 3
    assert studio.chat("hi", seed=1, max_new_tokens=4).params["max_new_tokens"] == 4


def test_a_models_folder_name_matches_the_table_however_it_is_written(tmp_path):
    from studio import tiny

    (tmp_path / "models" / "Stable-diffusion").mkdir(parents=True)
    (tmp_path / "models" / "Stable-diffusion" / "mine").symlink_to(tiny.ensure("sd"))
    text = '[image]\nmodel = "tiny:sd"\n[image.model_defaults."mine"]\nsteps = 2\n'
    studio = studio_with(tmp_path, text, models_dir=tmp_path / "models")
    for name in ("mine", "Stable-diffusion/mine"):
        assert studio.model_defaults("image", studio.model_ref("image", name)) == {"steps": 2}
    assert studio.model_defaults("image", studio.model_ref("image")) == {}


def test_an_unknown_setting_in_a_models_table_names_the_model_and_the_key(tmp_path):
    text = '[image]\nmodel = "tiny:sd"\n[image.model_defaults."tiny:sdxl"]\nstepz = 2\n'
    with pytest.raises(ValueError, match=r'model_defaults\."tiny:sdxl"\] has unknown key .stepz.'):
        studio_with(tmp_path, text).text_to_image("a fox", seed=1)


def test_picking_a_model_in_the_ui_shows_the_settings_it_runs_with(tmp_path):
    from studio.ui import build_app

    app = build_app(studio_with(tmp_path))
    for api_name, first in (("text_to_image", 2), ("image_to_image", 4)):  # the inputs' steps and guidance
        tab = next(d for d in app.fns.values() if d.api_name == api_name)
        picker = next(c for c in tab.inputs if "model-picker" in (c.elem_classes or []))
        follow = next(d for d in app.fns.values() if getattr(d.fn, "__name__", "") == "show" and d.inputs[:1] == [picker])
        assert follow.outputs == tab.inputs[first:first + 2]
        assert [event for _, event in follow.targets] == ["input"]  # a user's pick, not History's restore
        assert [u["value"] for u in follow.fn("tiny:sdxl")] == [2, 1.5]
        assert [u["value"] for u in follow.fn("tiny:sd")] == [3, 6.0]

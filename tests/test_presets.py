"""Presets: choice order, validation messages, and every shipped preset is well formed."""

import inspect

import pytest

from studio.library import presets


def test_argument_beats_environment_beats_hardware(monkeypatch):
    monkeypatch.setenv("STUDIO_PRESET", "cpu")
    assert presets.resolve("tiny").name == "tiny"
    assert presets.resolve(None).name == "cpu"
    monkeypatch.delenv("STUDIO_PRESET")
    assert presets.resolve(None, cuda_available=True).name == "gpu"
    assert presets.resolve(None, cuda_available=False).name == "cpu"
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert presets.resolve(None, cuda_available=True).name == "zerogpu"


@pytest.mark.parametrize("name", ["nope", "../../etc/passwd", "tiny/../cpu", "/etc/passwd", ""])
def test_unknown_or_escaping_names_are_refused(name, monkeypatch):
    monkeypatch.setenv("STUDIO_PRESET", "definitely-not-a-preset")
    with pytest.raises(ValueError, match="preset"):
        presets.resolve(name)


def write(tmp_path, text):
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    "text, words",
    [
        ('[image]\nmodle = "x"\n', ["mine.toml", "modle", "model"]),
        ('[imagery]\nmodel = "x"\n', ["mine.toml", "imagery"]),
        ("[image]\nmodel = 3\n", ["mine.toml", "model", "str"]),
        ('[image.defaults]\nsteps = [1, 2]\n', ["mine.toml", "steps"]),
        ('[speech.voices]\nen = 1\n', ["mine.toml", "en"]),
        ('[image.model_defaults]\nsteps = 4\n', ["mine.toml", "model_defaults", "steps", "table named after a model"]),
        ('[image.model_defaults."a/b"]\nsteps = [4]\n', ["mine.toml", '[image.model_defaults."a/b"] steps', "number"]),
        ('[image.model_defaults.""]\nsteps = 4\n', ["mine.toml", "needs a model name"]),
        ('[melody.model_defaults."a/b"]\nsteps = 4\n', ["mine.toml", "model_defaults", "[melody]"]),
        ("[image\n", ["mine.toml", "TOML"]),
    ],
)
def test_invalid_files_name_the_file_the_key_and_what_was_expected(tmp_path, text, words):
    with pytest.raises(ValueError) as error:
        presets.resolve(write(tmp_path, text))
    for word in words:
        assert word in str(error.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ValueError, match="missing.toml"):
        presets.resolve(str(tmp_path / "missing.toml"))


def test_a_path_preset_with_a_local_folder_works(tmp_path):
    preset = presets.resolve(write(tmp_path, '[image]\nmodel = "/models/my-sd"\n[image.defaults]\nsteps = 3\n'))
    assert preset.model("image") == "/models/my-sd"
    assert preset.defaults("image") == {"steps": 3}
    with pytest.raises(ValueError, match="no model for music"):
        preset.model("music")


def test_unknown_default_keys_are_reported_on_use(tmp_path):
    from studio import Studio

    studio = Studio(preset=write(tmp_path, '[image]\nmodel = "tiny:sd"\n[image.defaults]\nstepz = 3\n'))
    with pytest.raises(ValueError, match="stepz"):
        studio.text_to_image("a fox")


@pytest.mark.parametrize("name", presets.available())
def test_every_shipped_preset_is_valid_and_its_defaults_are_real_settings(name):
    from studio.core import Studio

    preset = presets.resolve(name)
    calls = {
        "image": ["text_to_image", "image_to_image"], "upscale": ["upscale"], "text": ["chat", "text_to_text"],
        "speech": ["text_to_speech"], "transcribe": ["speech_to_text"], "music": ["text_to_music", "continue_music"],
    }
    for section, methods in calls.items():
        accepted = set()
        for method in methods:
            if hasattr(Studio, method):
                accepted |= set(inspect.signature(getattr(Studio, method)).parameters)
        if accepted:
            preset.check_defaults(section, accepted)
    assert preset.model("image") and preset.model("text") and preset.voices()
    for section in calls:  # a model's own defaults name a model the preset offers, as it writes it
        offered = {preset.sections.get(section, {}).get("model"), *preset.alternatives(section), *preset.voices().values()}
        assert set(preset.model_defaults(section)) <= offered, section
    for model in [preset.model(s) for s in ("image", "upscale", "text", "transcribe", "music")] + list(preset.voices().values()):
        assert model.startswith("tiny:") or "/" in model

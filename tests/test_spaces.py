"""Hugging Face Spaces: front matter, the ZeroGPU decorator, preloading, the bind address."""

import sys
import types
from pathlib import Path

import pytest

from studio.serving.serve import host_for, login_from_env
from studio.ui.zerogpu import gpu_task

ROOT = Path(__file__).resolve().parent.parent


def test_readme_front_matter_describes_the_space():
    front = ROOT.joinpath("README.md").read_text().split("---")[1]
    for key in ("sdk: gradio", "sdk_version:", "app_file: app.py", "python_version:", "suggested_hardware:", "models:"):
        assert key in front
    assert ROOT.joinpath("packages.txt").read_text().split() == ["ffmpeg", "espeak-ng"]


def test_gpu_task_is_a_no_op_off_zerogpu(monkeypatch):
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)

    def handler():
        return 1

    assert gpu_task("upscale")(handler) is handler


def test_gpu_task_wraps_with_spaces_gpu_on_zerogpu(monkeypatch):
    calls = []
    fake = types.SimpleNamespace(GPU=lambda duration: lambda fn: calls.append(duration) or fn)
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    gpu_task("text_to_image")(lambda: None)
    gpu_task("audio_to_audio")(lambda: None)  # the longest of the operations the endpoint serves
    assert calls == [120, 180]
    with pytest.raises(ValueError, match="'paint' is no api_name of the operations table"):
        gpu_task("paint")


def test_gpu_task_without_the_spaces_package_is_a_no_op(monkeypatch):
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setitem(sys.modules, "spaces", None)  # import fails

    def handler():
        return 1

    assert gpu_task("upscale")(handler) is handler


def test_preload_loads_every_model_once(fresh_studio):
    loaded = fresh_studio.preload()
    assert len(loaded) == len(set(loaded)) == 8  # the clone model (CSM) too
    fresh_studio.text_to_speech("bonjour", language="fr", seed=1)
    fresh_studio.text_to_image("a fox", steps=1, seed=1)
    assert all(count == 1 for count in fresh_studio.models.loads.values())


def test_binds_loopback_locally_and_everywhere_on_spaces(monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.delenv("SYSTEM", raising=False)
    assert host_for(None) == "127.0.0.1"
    assert host_for("0.0.0.0") == "0.0.0.0"
    monkeypatch.setenv("SPACE_ID", "someone/studio")
    assert host_for(None) == "0.0.0.0"


def test_login_only_when_both_variables_are_set(monkeypatch):
    monkeypatch.delenv("STUDIO_USERNAME", raising=False)
    monkeypatch.setenv("STUDIO_PASSWORD", "secret")
    assert login_from_env() is None
    monkeypatch.setenv("STUDIO_USERNAME", "ada")
    assert login_from_env() == [("ada", "secret")]

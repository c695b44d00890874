"""STUDIO_COMPILE=1: the image model's denoiser compiled in place when it loads, and a server paying the
compile before it opens (`Studio.warm_up`), not a user's first image.

torch.compile itself is replaced by a recorder here: a real compile of even the tiny UNet takes
minutes of CPU, and what is checked is which module is compiled, when, and how often.
"""

import pytest
import torch

from studio import Studio
from tests.support.server import free_port


@pytest.fixture
def compiled(monkeypatch):
    """The class names of the modules `nn.Module.compile` was called on, in order."""
    calls = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *args, **kwargs: calls.append(type(self).__name__))
    return calls


def test_without_it_nothing_compiles_and_warm_up_runs_nothing(monkeypatch, compiled, tmp_path):
    monkeypatch.delenv("STUDIO_COMPILE", raising=False)
    studio = Studio(preset="tiny", outputs=tmp_path / "outputs")
    assert studio.warm_up() == [] and studio.models.loaded() == []
    studio.text_to_image("a fox", seed=1, steps=1)
    assert compiled == []


def test_warm_up_compiles_the_denoiser_once_and_saves_nothing(monkeypatch, compiled, tmp_path):
    monkeypatch.setenv("STUDIO_COMPILE", "1")
    studio = Studio(preset="tiny", outputs=tmp_path / "outputs")
    assert studio.warm_up() == ["tiny:sd"]
    assert compiled == ["UNet2DConditionModel"]
    assert not (tmp_path / "outputs").exists()  # a warm-up is no output of the user's
    studio.text_to_image("a fox", seed=1, steps=1)  # the warmed pipeline serves it: no second compile
    assert compiled == ["UNet2DConditionModel"]


def test_a_server_asked_to_compile_warms_up_before_it_opens(monkeypatch, tmp_path):
    from studio.serving.serve import launch

    monkeypatch.setenv("STUDIO_COMPILE", "1")
    studio = Studio(preset="tiny", outputs=tmp_path / "outputs")
    warmed = []
    studio.warm_up = lambda: warmed.append("warm-up") or []
    app = launch(studio, port=free_port(), block=False)
    try:
        assert warmed == ["warm-up"]
    finally:
        app.close()

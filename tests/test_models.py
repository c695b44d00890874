"""The model cache: load once, thread-safe, LRU past the budget, nothing at import."""

import subprocess
import sys
import threading
import time

import pytest
import torch

from pipelines.errors import ModelLoadError
from studio.library.cache import Key, ModelManager, parse_budget


class Fake:
    """A stand-in wrapper holding `size` float32 weights."""

    def __init__(self, size: int):
        self.module = torch.nn.Linear(size, 1, bias=False)

    def modules(self):
        return [self.module]


def key(name: str) -> Key:
    return Key("kind", name, "cpu", "float32")


def test_two_threads_asking_at_once_load_once():
    manager, calls, barrier = ModelManager(), [], threading.Barrier(4)

    def slow_loader():
        calls.append(1)
        time.sleep(0.2)
        return Fake(10)

    results = []

    def ask():
        barrier.wait()
        results.append(manager.get(key("a"), slow_loader))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and manager.loads[key("a")] == 1
    assert all(r is results[0] for r in results)


def test_least_recently_used_models_go_past_the_budget():
    manager = ModelManager(budget=2500 * 4)  # room for two models of 1000 weights, not three
    manager.get(key("a"), lambda: Fake(1000))
    manager.get(key("b"), lambda: Fake(1000))
    manager.get(key("a"), lambda: Fake(1000))  # a is now more recent than b
    manager.get(key("c"), lambda: Fake(1000))
    loaded = [k.model for k, _ in manager.loaded()]
    assert loaded == ["c", "a"]
    assert manager.resident_bytes() <= manager.budget


def test_a_model_in_use_is_not_evicted():
    manager = ModelManager(budget=1500 * 4)
    with manager.use(key("a"), lambda: Fake(1000)):
        manager.get(key("b"), lambda: Fake(1000))
        assert "a" in [k.model for k, _ in manager.loaded()]


def test_weights_a_call_adds_are_counted_and_the_budget_then_holds():
    manager = ModelManager(budget=2500 * 4)  # two models of 1000 weights, or one that grew and one
    manager.get(key("a"), lambda: Fake(1000))
    with manager.use(key("b"), lambda: Fake(1000)) as model:
        model.adapter = torch.nn.Linear(1000, 1, bias=False)  # kept after the call, as a LoRA adapter is
        model.modules = lambda: [model.module, model.adapter]
    assert manager.loaded() == [(key("b"), 8000)]  # b, grown, stays; a, idle and older, went
    assert manager.resident_bytes() <= manager.budget


def test_a_derived_model_shares_weights_and_goes_with_its_parent():
    manager = ModelManager()
    parent = (key("t2i"), lambda: Fake(1000))
    child = manager.get(Key("img2img", "t2i", "cpu", "float32"), lambda p: p, parent)
    assert child is manager.get(key("t2i"), None)
    assert manager.resident_bytes() == 4000  # counted once
    manager.unload(key("t2i"))
    assert manager.loaded() == []


def test_a_failing_load_leaves_nothing_behind_and_can_be_retried():
    manager = ModelManager()

    def broken():
        raise ModelLoadError("no such model")

    with pytest.raises(ModelLoadError):
        manager.get(key("a"), broken)
    assert manager.loaded() == []
    assert manager.get(key("a"), lambda: Fake(3)) is not None


@pytest.mark.parametrize("text, expected", [("8GB", 8 * 10**9), ("512MiB", 512 * 2**20), ("1.5 gb", 1.5 * 10**9),
                                            (None, None), ("", None), ("0", None), (1000, 1000)])
def test_budget_parsing(text, expected):
    assert parse_budget(text) == expected


@pytest.mark.parametrize("text", ["8 parsecs", "lots", "-1GB"])
def test_bad_budgets_are_refused(text):
    with pytest.raises(ValueError, match="memory budget"):
        parse_budget(text)


def test_importing_the_studio_and_building_the_app_load_no_model():
    code = (
        "import sys\n"
        "from studio import Studio\n"
        "from studio.ui import build_app\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]\n"
        "studio = Studio(preset='tiny')\n"
        "app = build_app(studio)\n"
        "print(heavy, studio.loaded_models())\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert output.returncode == 0, output.stderr[-2000:]
    assert output.stdout.strip().splitlines()[-1] == "[] []"


def test_the_studio_loads_a_model_once_across_calls(fresh_studio):
    fresh_studio.text_to_image("a fox", steps=1, seed=1)
    fresh_studio.text_to_image("a cat", steps=1, seed=2)
    fresh_studio.image_to_image(torch.zeros(64, 64, 3).numpy(), "a fox", steps=2, seed=1)
    assert all(count == 1 for count in fresh_studio.models.loads.values())
    assert len(fresh_studio.models.loads) == 2  # txt2img, and img2img built from it


def test_unknown_or_missing_models_give_one_clear_error(tmp_path):
    from studio import Studio

    preset = tmp_path / "p.toml"
    preset.write_text(f'[image]\nmodel = "{tmp_path}/nowhere"\n[upscale]\nmodel = "no-such-org/no-such-model"\n')
    studio = Studio(preset=str(preset))
    with pytest.raises(ModelLoadError, match="nowhere.*does not exist"):
        studio.text_to_image("a fox")
    with pytest.raises(ModelLoadError, match="no-such-org/no-such-model.*tiny preset"):
        studio.upscale(torch.zeros(16, 16, 3).numpy())


def test_pickle_only_folders_are_refused(tmp_path):
    from studio import Studio

    folder = tmp_path / "unsafe"
    folder.mkdir()
    (folder / "model_index.json").write_text("{}")
    (folder / "diffusion_pytorch_model.bin").write_bytes(b"\x80\x04not really")
    preset = tmp_path / "p.toml"
    preset.write_text(f'[image]\nmodel = "{folder}"\n')
    with pytest.raises(ModelLoadError, match="pickle"):
        Studio(preset=str(preset)).text_to_image("a fox")

"""The model library: `model=` on every operation, recipes naming models as the user did, listings."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from studio import Studio, tiny
from studio.serving import batch, cli

FOX = dict(seed=3, steps=2, width=64, height=64)
OPERATIONS = [*(name for name in cli.OPERATIONS if name != "xy_plot"), "stream_chat", "vae_latents"]


def test_every_operation_takes_a_model():
    for name in OPERATIONS:  # an X/Y plot's model is a keyword of the operation it plots
        assert "model" in inspect.signature(getattr(Studio, name)).parameters, name


def test_cli_verbs_and_batch_jobs_take_a_model(tmp_path):
    parser = cli.build_parser()
    for name in cli.OPERATIONS:
        verb = ["xy-plot", "text-to-image", "--x", "steps=1,2", "a fox"] if name == "xy_plot" else \
            [name.replace("_", "-"), *_required(name)]
        args = parser.parse_args([*verb, "--model", "tiny:sd"])
        assert args.model == "tiny:sd", name
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"task": "text_to_image", "prompt": "a fox", "model": "tiny:sd"}) + "\n")
    assert batch.parse_jobs(jobs, Studio)[0].kwargs["model"] == "tiny:sd"


def _required(name: str) -> list[str]:
    method = getattr(Studio, name)
    return ["x" for p in inspect.signature(method).parameters.values() if p.default is inspect.Parameter.empty and p.name != "self"]


def test_recipe_names_a_tiny_model_by_its_name_not_its_folder(studio):
    image = studio.text_to_image("a fox", **FOX)
    chat = studio.chat("hi", seed=1, max_new_tokens=2)
    assert image.params["model"] == "tiny:sd" and chat.params["model"] == "tiny:chat"
    assert str(tiny.cache_root()) not in json.dumps([image.params, chat.params])


def test_model_keyword_picks_another_model_and_the_recipe_names_it(studio, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(tiny.ensure("sd"), models / "Stable-diffusion" / "my-sd")
    mine = Studio(preset="tiny", outputs=tmp_path / "out", models_dir=models)
    base = mine.text_to_image("a fox", **FOX)
    chosen = mine.text_to_image("a fox", model="my-sd", **FOX)
    assert chosen.params["model"] == "Stable-diffusion/my-sd" and base.params["model"] == "tiny:sd"
    assert chosen.images[0].tobytes() == base.images[0].tobytes()  # same weights, same pixels
    assert {m["model"] for m in mine.loaded_models()} == {mine.model_ref("image"), mine.model_ref("image", "my-sd")}
    again = mine.text_to_image("a fox", model=chosen.params["model"], **FOX)  # a recipe's name loads again
    assert again.params["model"] == "Stable-diffusion/my-sd"


def test_unknown_model_names_the_model_and_how_to_fix_it(studio):
    from pipelines.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match="no-such-org/no-such-model"):
        studio.text_to_image("a fox", model="no-such-org/no-such-model", **FOX)


def test_a1111_folder_lists_checkpoints_loras_and_embeddings(tmp_path):
    models = tmp_path / "models"
    for name in ("Stable-diffusion/dreamshaper_8.safetensors", "Stable-diffusion/sdxl/juggernaut.safetensors",
                 "Lora/add_detail.safetensors", "embeddings/easynegative.safetensors", "Stable-diffusion/old.ckpt",
                 "Stable-diffusion/.partial/x.safetensors"):
        (models / name).parent.mkdir(parents=True, exist_ok=True)
        (models / name).write_bytes(b"x")
    shutil.copytree(tiny.ensure("sd"), models / "Stable-diffusion" / "tiny-folder")
    studio = Studio(preset="tiny", models_dir=models)
    images = {row["name"]: row for row in studio.list_models("image")}
    assert list(images) == ["tiny:sd", "Stable-diffusion/dreamshaper_8.safetensors",
                            "Stable-diffusion/sdxl/juggernaut.safetensors", "Stable-diffusion/tiny-folder"]
    assert images["tiny:sd"]["default"] and images["Stable-diffusion/tiny-folder"]["kind"] == "folder"
    assert [row["name"] for row in studio.list_models("lora")] == ["Lora/add_detail.safetensors"]
    assert [row["name"] for row in studio.list_models("embeddings")] == ["embeddings/easynegative.safetensors"]
    assert studio.library.resolve("image", "dreamshaper_8").load == str(models / "Stable-diffusion/dreamshaper_8.safetensors")
    assert studio.library.resolve("image", "juggernaut").name == "Stable-diffusion/sdxl/juggernaut.safetensors"
    with pytest.raises(ValueError, match="task must be one of"):
        studio.list_models("paintings")


def _fake_hub_repo(cache: Path, repo_id: str, files: dict[str, bytes], commit: str = "a" * 40) -> None:
    """A repo in the Hugging Face cache layout: blobs, a snapshot of symlinks, refs/main."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    for name, data in files.items():
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = repo / "snapshots" / commit / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))


def test_hugging_face_cache_is_listed_by_what_each_repo_is(tmp_path, monkeypatch):
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    weights = {"model.safetensors": b"w"}
    _fake_hub_repo(cache, "org/an-sd", {"model_index.json": b'{"_class_name": "StableDiffusionPipeline"}',
                                         "unet/diffusion_pytorch_model.safetensors": b"u"})
    _fake_hub_repo(cache, "org/a-whisper", {"config.json": b'{"model_type": "whisper"}', **weights})
    _fake_hub_repo(cache, "org/an-lm", {"config.json": b'{"model_type": "qwen2", "architectures": ["Qwen2ForCausalLM"]}', **weights})
    _fake_hub_repo(cache, "org/no-weights", {"config.json": b'{"model_type": "whisper"}'})
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    studio = Studio(preset="tiny", models_dir=tmp_path / "none")
    assert [(r["name"], r["source"]) for r in studio.list_models("image")] == [("tiny:sd", "preset"), ("org/an-sd", "cache")]
    assert [r["name"] for r in studio.list_models("transcribe")] == ["tiny:whisper", "org/a-whisper"]
    assert [r["name"] for r in studio.list_models("chat")] == ["tiny:chat", "org/an-lm"]
    assert studio.library.resolve("image", "org/an-sd").revision == "a" * 40


def test_preset_alternatives_are_listed_and_marked_not_downloaded(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    preset = tmp_path / "mine.toml"
    preset.write_text('[image]\nmodel = "tiny:sd"\nalternatives = ["org/other-sd"]\n')
    rows = Studio(preset=str(preset), models_dir=tmp_path / "none").list_models("image")
    assert [(r["name"], r["default"], r["downloaded"]) for r in rows] == [("tiny:sd", True, True), ("org/other-sd", False, False)]
    preset.write_text('[image]\nmodel = "tiny:sd"\nalternatives = "org/other-sd"\n')
    with pytest.raises(ValueError, match="alternatives"):
        Studio(preset=str(preset))


def test_models_verb_lists_the_library(tmp_path):
    (tmp_path / "models" / "Lora").mkdir(parents=True)
    (tmp_path / "models" / "Lora" / "style.safetensors").write_bytes(b"x")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    out = subprocess.run([sys.executable, "-m", "studio", "models", "lora", "--preset", "tiny", "--models-dir",
                          str(tmp_path / "models"), "--json"], capture_output=True, text=True, env=env, check=True).stdout
    assert [json.loads(line)["name"] for line in out.splitlines()] == ["Lora/style.safetensors"]

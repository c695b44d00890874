"""Single-file checkpoints: offline loading, the family's shipped configs, Model hash, pickles refused."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from pipelines import single_file
from pipelines.errors import ModelLoadError
from studio import Studio, tiny
from studio.tiny.single_file import write

FOX = dict(seed=3, steps=2, width=64, height=64)
# AUTOMATIC1111's documented infotext: prompt lines, "Negative prompt:", then `Key: value` pairs,
# values with commas in JSON quotes (the pattern its parse_generation_parameters reads).
A1111_PAIR = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def a1111_fields(text: str) -> dict[str, str]:
    last = text.strip().split("\n")[-1]
    return {k: json.loads(v) if v.startswith('"') else v for k, v in A1111_PAIR.findall(last)}


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    write(tiny.ensure("sd"), root / "Stable-diffusion" / "tinysd.safetensors")
    return root


def test_single_file_gives_the_pixels_of_its_folder(models, tmp_path):
    studio = Studio(preset="tiny", outputs=tmp_path, models_dir=models)
    folder = studio.text_to_image("a red fox", **FOX)
    single = studio.text_to_image("a red fox", model="tinysd", **FOX)
    assert np.array_equal(np.asarray(single.images[0]), np.asarray(folder.images[0]))
    source = Image.new("RGB", (64, 64), (30, 90, 160))
    assert np.array_equal(np.asarray(studio.image_to_image(source, "a fox", model="tinysd", strength=0.5, **FOX).images[0]),
                          np.asarray(studio.image_to_image(source, "a fox", strength=0.5, **FOX).images[0]))
    digest = hashlib.sha256((models / "Stable-diffusion" / "tinysd.safetensors").read_bytes()).hexdigest()
    assert single.params["model"] == "Stable-diffusion/tinysd.safetensors" and single.params["model_hash"] == digest[:10]
    fields = a1111_fields(Image.open(studio.save(single)[0]).text["parameters"])
    assert fields["Model"] == "tinysd" and fields["Model hash"] == digest[:10]
    assert str(models) not in json.dumps(single.params)


def test_pickle_checkpoints_are_refused_with_how_to_convert(models, tmp_path):
    (models / "Stable-diffusion" / "old.ckpt").write_bytes(b"not loaded")
    studio = Studio(preset="tiny", outputs=tmp_path, models_dir=models)
    with pytest.raises(ModelLoadError, match="pickle checkpoint.*safetensors only.*Convert"):
        studio.text_to_image("a fox", model="Stable-diffusion/old.ckpt", **FOX)
    (models / "Stable-diffusion" / "broken.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ModelLoadError, match="Stable-diffusion/broken.safetensors") as error:
        studio.text_to_image("a fox", model="broken", **FOX)
    assert str(models) not in str(error.value)  # named as the user did, not by the server's path


@pytest.mark.parametrize(("family", "keys", "tokenizers"), [
    ("v1", {"model.diffusion_model.input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight": (320, 768)}, ["tokenizer"]),
    ("v2", {"model.diffusion_model.input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight": (320, 1024)}, ["tokenizer"]),
    ("xl_base", {"conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias": (1280,)}, ["tokenizer", "tokenizer_2"]),
])
def test_each_family_gets_its_shipped_configs_and_clip_tokenizer_offline(tmp_path, family, keys, tokenizers):
    from diffusers import DiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTokenizer

    path = tmp_path / f"{family}.safetensors"
    save_file({key: torch.zeros(shape) for key, shape in keys.items()}, path)  # the keys the family is told by
    assert single_file.family_of(path) == family
    folder = single_file.config_folder(path)
    assert DiffusionPipeline.load_config(folder)["_class_name"].startswith("StableDiffusion")
    assert UNet2DConditionModel.load_config(folder, subfolder="unet")["cross_attention_dim"] == {"v1": 768, "v2": 1024, "xl_base": 2048}[family]
    for name in tokenizers:
        tokenizer = CLIPTokenizer.from_pretrained(folder, subfolder=name)
        assert len(tokenizer) == 49408
        assert tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]


def test_a_family_that_cannot_load_offline_is_named(tmp_path):
    path = tmp_path / "flux.safetensors"
    save_file({"double_blocks.0.img_attn.norm.key_norm.scale": torch.zeros(1), "guidance_in.in_layer.bias": torch.zeros(1),
               "img_in.weight": torch.zeros(1, 64)}, path)
    assert single_file.family_of(path).startswith("flux")
    with pytest.raises(ValueError, match="'flux.safetensors' is a flux.* single file; it needs a T5 tokenizer"):
        single_file.config_folder(path)


SD2_KEY = {"model.diffusion_model.input_blocks.2.1.transformer_blocks.0.attn2.to_k.weight": torch.zeros(320, 1024)}


@pytest.mark.parametrize(("metadata", "yaml", "kind"), [
    ({"modelspec.prediction_type": "epsilon"}, None, "v2_base"),
    ({"modelspec.prediction_type": "v"}, None, "v2"),
    ({"modelspec.architecture": "stable-diffusion-v2-512"}, None, "v2_base"),
    ({"modelspec.architecture": "stable-diffusion-v2-768-v"}, None, "v2"),
    ({}, 'model:\n  params:\n    parameterization: "v"\n', "v2"),  # A1111's v2-inference-v.yaml
    ({}, "model:\n  params:\n    linear_start: 0.00085\n", "v2_base"),  # its v2-inference.yaml: epsilon
    ({"modelspec.prediction_type": "epsilon"}, 'parameterization: "v"\n', "v2_base"),  # the file's own word first
])
def test_an_sd2_file_gets_the_configs_of_its_kind(tmp_path, metadata, yaml, kind):
    from diffusers import DDIMScheduler, UNet2DConditionModel

    path = tmp_path / "sd2.safetensors"
    save_file(SD2_KEY, path, metadata=metadata)
    if yaml is not None:
        path.with_suffix(".yaml").write_text(yaml)
    assert single_file.family_of(path) == "v2" and single_file.sd2_kind(path) == kind
    folder = single_file.config_folder(path)
    prediction = DDIMScheduler.load_config(folder, subfolder="scheduler")["prediction_type"]
    size = UNet2DConditionModel.load_config(folder, subfolder="unet")["sample_size"]
    assert (prediction, size) == {"v2": ("v_prediction", 96), "v2_base": ("epsilon", 64)}[kind]
    assert UNet2DConditionModel.load_config(folder, subfolder="unet")["cross_attention_dim"] == 1024


def test_an_sd2_file_that_says_nothing_is_asked_of_its_unet(tmp_path):
    from diffusers import UNet2DConditionModel

    path = tmp_path / "sd2.safetensors"
    save_file(SD2_KEY, path)
    assert single_file.sd2_kind(path) is None  # load() then runs predicts_v on the UNet
    unet = UNet2DConditionModel.from_pretrained(tiny.ensure("sd"), subfolder="unet")
    torch.nn.init.zeros_(unet.conv_out.weight)
    for bias, v in ((-2.0, True), (0.5, False)):  # minus the image (v), or the noise given back (epsilon)
        torch.nn.init.constant_(unet.conv_out.bias, bias)
        assert single_file.predicts_v(unet) is v


def test_loading_an_sd2_file_that_says_nothing_asks_its_unet_once(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    written = write(tiny.ensure("sd"), tmp_path / "tiny.safetensors")
    configs = single_file.config_folder(written)  # the tiny model's, carried in its metadata
    bare = tmp_path / "bare.safetensors"
    save_file(load_file(written), bare)  # the same tensors, saying nothing of their kind
    monkeypatch.setattr(single_file, "family_of", lambda path: "v2")
    monkeypatch.setattr(single_file, "config_folder", lambda path, family=None: configs)
    asked = []
    monkeypatch.setattr(single_file, "predicts_v", lambda unet: asked.append(unet) or False)
    pipe = single_file.load(str(bare), torch.float32)
    assert asked == [pipe.unet]  # the UNet asked is the one the pipeline runs: loaded once

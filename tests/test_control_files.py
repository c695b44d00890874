"""ControlNet single files (A1111's models/ControlNet/*.safetensors): loaded offline, others refused by name."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from safetensors.torch import save_file

from pipelines import controlnet_file, single_file
from pipelines.control import load_controlnet
from pipelines.errors import ModelLoadError
from studio import Studio, tiny
from studio.tiny.single_file import write_controlnet

FAST = dict(seed=3, steps=2)


@pytest.fixture(scope="module")
def disc():
    image = Image.new("RGB", (64, 64), (0, 0, 0))
    ImageDraw.Draw(image).ellipse((10, 10, 50, 50), fill=(255, 255, 255))
    return image


@pytest.mark.parametrize("prefix", ["control_model.", ""])
def test_a_single_file_gives_the_weights_of_its_folder(tmp_path, prefix):
    from diffusers import ControlNetModel

    path = write_controlnet(tiny.ensure("controlnet"), tmp_path / "net.safetensors", prefix)
    header = single_file.read_header(path)  # A1111's layout, as lllyasviel's files have it
    assert {f"{prefix}{key}.weight" for key in ("zero_convs.0.0", "input_hint_block.14", "middle_block_out.0")} <= set(header)
    folder = ControlNetModel.from_pretrained(tiny.ensure("controlnet")).state_dict()
    single = load_controlnet(str(path)).state_dict()
    assert single.keys() == folder.keys()
    assert all(torch.equal(single[key], folder[key]) for key in folder)


def test_a_single_file_of_diffusers_keys_loads_too(tmp_path):
    from diffusers import ControlNetModel
    from safetensors.torch import load_file

    folder = tiny.ensure("controlnet")
    path = tmp_path / "diffusers_layout.safetensors"  # a folder's weights file renamed, its config in the metadata
    save_file(load_file(folder / "diffusion_pytorch_model.safetensors"), path,
              metadata={single_file.METADATA_KEY: json.dumps({"config.json": (folder / "config.json").read_text()})})
    expected = ControlNetModel.from_pretrained(folder).state_dict()
    single = load_controlnet(str(path)).state_dict()
    assert single.keys() == expected.keys() and all(torch.equal(single[key], expected[key]) for key in expected)


def test_a_single_file_gives_the_pixels_of_its_folder(tmp_path, disc):
    path = write_controlnet(tiny.ensure("controlnet"), tmp_path / "ControlNet" / "mine.safetensors")
    studio = Studio(preset="tiny", outputs=tmp_path / "out", models_dir=tmp_path)
    entry = {"image": disc, "preprocessor": "canny"}
    folder = studio.text_to_image("a fox", control=[{"model": "tiny:controlnet", **entry}], **FAST)
    plain = studio.text_to_image("a fox", **FAST)
    for model in (str(path), "mine", "ControlNet/mine.safetensors"):  # a path, or a name the library finds in ControlNet/
        single = studio.text_to_image("a fox", control=[{"model": model, **entry}], **FAST)
        assert np.array_equal(np.asarray(single.images[0]), np.asarray(folder.images[0]))
    assert not np.array_equal(np.asarray(plain.images[0]), np.asarray(folder.images[0]))


def test_a_pickle_controlnet_is_refused_with_how_to_convert(tmp_path, disc):
    (tmp_path / "ControlNet").mkdir()
    (tmp_path / "ControlNet" / "control_v11p_sd15_canny.pth").write_bytes(b"not loaded")
    studio = Studio(preset="tiny", outputs=tmp_path / "out", models_dir=tmp_path)
    with pytest.raises(ModelLoadError, match="'control_v11p_sd15_canny.pth' is a pickle file.*safetensors only.*Convert") as error:
        studio.text_to_image("a fox", control=[{"model": "ControlNet/control_v11p_sd15_canny.pth", "image": disc}], steps=1)
    assert str(tmp_path) not in str(error.value)


def _header_only(path, shapes: dict[str, tuple[int, ...]]):
    """A file with the keys and shapes a family is told by (zeros of small sizes where only the key matters)."""
    save_file({key: torch.zeros(shape, dtype=torch.float16) for key, shape in shapes.items()}, path)
    return path


SD15 = {"control_model.input_hint_block.0.weight": (16, 3, 3, 3),
        "control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (320, 768)}


@pytest.mark.parametrize(("shapes", "family"), [
    (SD15, "v1"),
    ({key.removeprefix("control_model."): shape for key, shape in SD15.items()}, "v1"),  # saved without the prefix
    ({"controlnet_cond_embedding.conv_in.weight": (16, 3, 3, 3),  # diffusers' own keys in one file
      "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight": (320, 768)}, "v1"),
    ({"control_model.input_hint_block.0.weight": (16, 3, 3, 3),
      "control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (320, 1024)}, "v2"),
    ({"control_model.input_hint_block.0.weight": (16, 3, 3, 3), "control_model.label_emb.0.0.weight": (8, 8),
      "control_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight": (8, 2048)}, "xl"),
    ({"model.diffusion_model.input_blocks.0.0.weight": (8, 4, 3, 3)}, "none"),  # a checkpoint, not a ControlNet
    ({"lora_controlnet": (1,), "input_hint_block.0.weight": (16, 3, 3, 3)}, "none"),  # a Control-LoRA
])
def test_the_family_is_told_by_the_keys(tmp_path, shapes, family):
    assert controlnet_file.family_of(_header_only(tmp_path / "net.safetensors", shapes)) == family


def test_an_sd1_file_gets_the_shipped_config_of_sd15_controlnets(tmp_path):
    from accelerate import init_empty_weights
    from diffusers import ControlNetModel

    folder = controlnet_file.config_folder(_header_only(tmp_path / "control_v11p_sd15_canny.safetensors", SD15))
    config = ControlNetModel.load_config(folder)
    assert config["cross_attention_dim"] == 768 and config["block_out_channels"] == [320, 640, 1280, 1280]
    with init_empty_weights():  # the real model's shape, with no memory spent on it
        net = ControlNetModel.from_config(config)
    assert sum(p.numel() for p in net.parameters()) == 361_279_120  # lllyasviel's SD 1.5 ControlNets
    assert len(net.controlnet_down_blocks) == 12  # the file's zero_convs.0 ... zero_convs.11


@pytest.mark.parametrize(("shapes", "message"), [
    ({"control_model.input_hint_block.0.weight": (16, 3, 3, 3), "control_model.label_emb.0.0.weight": (8, 8)},
     "'other.safetensors' is a ControlNet single file for SDXL; .*cannot load offline. Use the ControlNet's diffusers "
     "folder .* or its hub id instead"),
    ({"control_model.input_hint_block.0.weight": (16, 3, 3, 3),
      "control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": (320, 1024)},
     "'other.safetensors' is a ControlNet single file for SD 2.x; .*diffusers folder"),
    ({"model.diffusion_model.input_blocks.0.0.weight": (8, 4, 3, 3)}, "'other.safetensors' holds no ControlNet"),
])
def test_a_file_of_another_family_is_refused_naming_it_and_the_fix(tmp_path, disc, shapes, message):
    (tmp_path / "ControlNet").mkdir()
    _header_only(tmp_path / "ControlNet" / "other.safetensors", shapes)
    studio = Studio(preset="tiny", outputs=tmp_path / "out", models_dir=tmp_path)
    with pytest.raises(ModelLoadError, match=message) as error:
        studio.text_to_image("a fox", control=[{"model": "other", "image": disc}], steps=1)
    assert str(tmp_path) not in str(error.value)

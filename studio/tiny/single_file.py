"""The tiny Stable Diffusion folder written as one A1111-style `.safetensors` checkpoint, and the tiny ControlNet too.

The keys are the original (LDM) layout A1111 and civitai files use:
`model.diffusion_model.*` (UNet), `first_stage_model.*` (VAE),
`cond_stage_model.transformer.*` (CLIP text encoder); a ControlNet is the UNet's
encoder half under `control_model.*` plus `input_hint_block.*` (the control map's
encoder), `zero_convs.N.0.*` and `middle_block_out.0.*` (its outputs). The tiny
shapes match no real family, so each file carries its diffusers configs (and the
tokenizer) in its metadata (`diffusers_config`), which the single-file loaders read.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, save_file

from pipelines.single_file import METADATA_KEY

RESNET = [("in_layers.0", "norm1"), ("in_layers.2", "conv1"), ("out_layers.0", "norm2"), ("out_layers.3", "conv2"),
          ("emb_layers.1", "time_emb_proj"), ("skip_connection", "conv_shortcut")]
VAE_ATTENTION = [("norm.", "group_norm."), ("q.", "to_q."), ("k.", "to_k."), ("v.", "to_v."), ("proj_out.", "to_out.0.")]


def write(folder: Path, path: Path) -> Path:
    """`folder` (a diffusers SD 1.x folder) as the single file `path`."""
    folder = Path(folder)
    unet_config = json.loads((folder / "unet" / "config.json").read_text())
    state = {}
    unet = load_file(folder / "unet" / "diffusion_pytorch_model.safetensors")
    for key, value in unet.items():
        state["model.diffusion_model." + _unet_key(key, unet_config)] = value
    levels = len(json.loads((folder / "vae" / "config.json").read_text())["up_block_types"])
    for key, value in load_file(folder / "vae" / "diffusion_pytorch_model.safetensors").items():
        new = _vae_key(key, levels)
        if any(f"mid.attn_1.{n}weight" in new for n in ("q.", "k.", "v.", "proj_out.")) and value.ndim == 2:
            value = value[:, :, None, None]  # LDM's VAE attention uses 1x1 convolutions
        state["first_stage_model." + new] = value
    for key, value in load_file(folder / "text_encoder" / "model.safetensors").items():
        # transformers 5 saves CLIPTextModel without its `text_model.` prefix; LDM files have it.
        state["cond_stage_model.transformer." + ("" if key.startswith("text_model.") else "text_model.") + key] = value
    files = {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*"))
             if p.is_file() and p.suffix in (".json", ".txt") and not p.name.startswith(".")}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, path, metadata={METADATA_KEY: json.dumps(files)})
    return path


def write_controlnet(folder: Path, path: Path, prefix: str = "control_model.") -> Path:
    """`folder` (a diffusers ControlNet folder) as the single file `path`; `prefix` "" for files saved without one."""
    folder = Path(folder)
    config_text = (folder / "config.json").read_text(encoding="utf-8")
    config = json.loads(config_text)
    weights = load_file(folder / "diffusion_pytorch_model.safetensors")
    state = {prefix + _controlnet_key(key, config): value.contiguous() for key, value in weights.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, path, metadata={METADATA_KEY: json.dumps({"config.json": config_text})})
    return path


def _controlnet_key(key: str, config: dict) -> str:
    parts = key.split(".")
    if parts[0] == "controlnet_down_blocks":
        return f"zero_convs.{parts[1]}.0." + ".".join(parts[2:])
    if parts[0] == "controlnet_mid_block":
        return "middle_block_out.0." + ".".join(parts[1:])
    if parts[0] == "controlnet_cond_embedding":
        # LDM's hint block is one Sequential, a SiLU after each convolution: conv_in, the blocks, conv_out at even places
        blocks = 2 * (len(config["conditioning_embedding_out_channels"]) - 1)
        place = {"conv_in": 0, "conv_out": 2 * (blocks + 1)}.get(parts[1])
        if place is None:
            place, parts = 2 * (int(parts[2]) + 1), parts[1:]
        return f"input_hint_block.{place}." + ".".join(parts[2:])
    return _unet_key(key, config)  # the encoder half the ControlNet shares with the UNet


def _unet_key(key: str, config: dict) -> str:
    per = config["layers_per_block"]
    fixed = {"time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2", "conv_in": "input_blocks.0.0",
             "conv_norm_out": "out.0", "conv_out": "out.2"}
    for new, old in fixed.items():
        if key.startswith(new + "."):
            return old + key[len(new):]
    parts = key.split(".")
    if parts[0] == "down_blocks":
        block, kind, index = int(parts[1]), parts[2], int(parts[3])
        if kind == "downsamplers":
            return f"input_blocks.{(per + 1) * (block + 1)}.0.op." + ".".join(parts[5:])
        prefix = f"input_blocks.{(per + 1) * block + index + 1}.{0 if kind == 'resnets' else 1}."
    elif parts[0] == "up_blocks":
        block, kind, index = int(parts[1]), parts[2], int(parts[3])
        if kind == "upsamplers":
            has_attention = "CrossAttn" in config["up_block_types"][block]
            return f"output_blocks.{(per + 1) * block + per}.{2 if has_attention else 1}.conv." + ".".join(parts[5:])
        prefix = f"output_blocks.{(per + 1) * block + index}.{0 if kind == 'resnets' else 1}."
    elif parts[0] == "mid_block":
        kind, index = parts[1], int(parts[2])
        prefix = f"middle_block.{1 if kind == 'attentions' else 2 * index}."
    else:
        raise ValueError(f"unexpected UNet key {key!r}")
    rest = ".".join(parts[4:] if parts[0] != "mid_block" else parts[3:])
    if kind == "resnets":
        for old, new in RESNET:
            if rest.startswith(new + "."):
                rest = old + rest[len(new):]
    return prefix + rest


def _vae_key(key: str, levels: int) -> str:
    parts = key.split(".")
    side = parts[0]  # encoder | decoder | quant_conv | post_quant_conv
    if side not in ("encoder", "decoder"):
        return key
    rest = ".".join(parts[1:])
    rest = rest.replace("conv_norm_out.", "norm_out.")
    if rest.startswith(("down_blocks.", "up_blocks.")):
        kind, block = parts[1], int(parts[2])
        if kind == "up_blocks":
            block = levels - 1 - block  # LDM numbers the decoder's levels from the bottom
        group = "down" if kind == "down_blocks" else "up"
        inner = ".".join(parts[3:])
        inner = inner.replace("resnets.", "block.").replace("downsamplers.0.", "downsample.").replace("upsamplers.0.", "upsample.")
        rest = f"{group}.{block}.{inner}"
    elif rest.startswith("mid_block."):
        inner = ".".join(parts[2:])
        if inner.startswith("resnets."):
            index = int(parts[3])
            rest = f"mid.block_{index + 1}." + ".".join(parts[4:])
        else:
            rest = "mid.attn_1." + ".".join(parts[4:])
            for old, new in VAE_ATTENTION:
                tail = rest[len("mid.attn_1."):]
                if tail.startswith(new):
                    rest = "mid.attn_1." + old + tail[len(new):]
                    break
    rest = rest.replace(".conv_shortcut.", ".nin_shortcut.")
    return f"{side}.{rest}"

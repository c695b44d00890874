"""ControlNet single files (`.safetensors`, as AUTOMATIC1111 and Forge keep them in `models/ControlNet/`), loaded offline.

Such files hold the original ControlNet (LDM) layout: `control_model.input_blocks.*`,
`control_model.zero_convs.N.0.*`, `control_model.input_hint_block.*`,
`control_model.middle_block_out.0.*`; some have no `control_model.` prefix, some are
diffusers' own keys saved as one file. diffusers' `ControlNetModel.from_single_file`
reads them all, given the model's config on disk (it would fetch it from the hub):
- the config the file carries in its metadata (`diffusers_config`, see `single_file`);
- else the studio's shipped one for the file's family: SD 1.x only
  (`single_file_configs/controlnet_v1/`, lllyasviel's v1.1 canny config, the shape of
  every SD 1.5 ControlNet v1.0/v1.1).
The family is told by the width of the text the ControlNet attends to (768 for SD 1.x,
1024 for SD 2.x, 2048 for SDXL) and SDXL's extra embedding (`label_emb`, diffusers'
`add_embedding`). Other families, and files that hold no ControlNet (T2I-Adapters,
ControlNet-LLLite, Control-LoRAs, checkpoints), are refused with what to use instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines import single_file
from pipelines.errors import ModelLoadError
from pipelines.loading import PICKLE_SUFFIXES

LDM_PREFIX = "control_model."
FAMILY_BY_CONTEXT_WIDTH = {768: "v1", 1024: "v2", 2048: "xl"}
FAMILIES = {"v1": "SD 1.x", "v2": "SD 2.x", "xl": "SDXL"}
SHIPPED_CONFIGS = {"v1": single_file.CONFIGS / "controlnet_v1"}
HINT_KEYS = ("input_hint_block.", "controlnet_cond_embedding.")  # the control map's encoder: only ControlNets have it
XL_KEYS = ("label_emb.", "add_embedding.")  # SDXL's size-and-crop embedding
USE_INSTEAD = "Use the ControlNet's diffusers folder (config.json and diffusion_pytorch_model.safetensors) or its hub id instead"


def refuse_pickle(name: str) -> None:
    """Refuse a pickle ControlNet file (`.pth`, `.ckpt`, ...), saying how to convert it."""
    path = Path(name).expanduser()
    if path.suffix.lower() in PICKLE_SUFFIXES and path.is_file():
        raise ModelLoadError(
            f"ControlNet {path.name!r} is a pickle file, which can run code when loaded; the studio loads safetensors only. "
            "Convert it once where you trust the file, e.g. with diffusers: ControlNetModel.from_single_file on it, then "
            f"save_pretrained a folder, or save its tensors with safetensors' save_file as {path.stem}.safetensors"
        )


def _tensor_shapes(path: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """The file's tensor names (without the `control_model.` prefix) and shapes, read from its header alone."""
    header = single_file.read_header(path)
    return {key.removeprefix(LDM_PREFIX): tuple(entry["shape"]) for key, entry in header.items() if key != "__metadata__"}


def family_of(path: str | os.PathLike) -> str:
    """"v1", "v2" or "xl" for a ControlNet file; "unknown" for a ControlNet of another shape; "none" for no ControlNet."""
    shapes = _tensor_shapes(path)
    if "lora_controlnet" in shapes or not any(key.startswith(HINT_KEYS) for key in shapes):
        return "none"  # a Control-LoRA has a hint block too, but only low-rank parts of the rest
    if any(key.startswith(XL_KEYS) for key in shapes):
        return "xl"
    widths = {shape[1] for key, shape in shapes.items() if key.endswith("attn2.to_k.weight") and len(shape) == 2}
    return FAMILY_BY_CONTEXT_WIDTH.get(widths.pop(), "unknown") if len(widths) == 1 else "unknown"


def config_folder(path: str | os.PathLike) -> Path:
    """A local folder with the ControlNet's diffusers `config.json`: the file's own, else its family's shipped one."""
    carried = single_file.carried_configs(path)
    if carried is not None:
        return carried
    name = Path(path).name
    family = family_of(path)
    if family == "none":
        raise ModelLoadError(
            f"{name!r} holds no ControlNet (no input_hint_block or controlnet_cond_embedding weights): T2I-Adapter, "
            "ControlNet-LLLite and Control-LoRA files and checkpoints are other kinds, which the studio does not load as a "
            "ControlNet. Choose a ControlNet file, folder or hub id"
        )
    if family not in SHIPPED_CONFIGS:
        raise ModelLoadError(
            f"{name!r} is a ControlNet single file for {FAMILIES.get(family, 'an unknown model family')}; the studio ships the config of "
            f"{', '.join(FAMILIES[f] for f in SHIPPED_CONFIGS)} ControlNet files only, so it cannot load offline. {USE_INSTEAD}"
        )
    return SHIPPED_CONFIGS[family]


def load(path: str, dtype=None):
    """The ControlNetModel of a single `.safetensors` file, with no network."""
    from diffusers import ControlNetModel

    name = Path(path).name
    if Path(path).suffix.lower() != ".safetensors":  # diffusers would torch.load() any other file: a pickle
        raise ModelLoadError(f"ControlNet {name!r} is not a .safetensors file; the studio loads safetensors only")
    try:
        folder = config_folder(path)
        return ControlNetModel.from_single_file(path, config=str(folder), local_files_only=True, dtype=dtype)
    except ModelLoadError:
        raise
    except Exception as error:  # a damaged file, or one of the right family but another shape: say which, not where it is
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0].replace(str(path), name).rstrip(".")
        raise ModelLoadError(f"could not load ControlNet {name!r} from its single file: {reason[:300]}. {USE_INSTEAD}") from error

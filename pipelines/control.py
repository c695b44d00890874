"""ControlNet: guide a generation with an edge or depth map, for SD 1.x/2.x and SDXL.

`control=[{"model", "image", "preprocessor", "scale", "start", "end"}, ...]` on
text-to-image and image-to-image. Each entry's image becomes its control map:
"canny" draws its edges with OpenCV (`low`/`high` thresholds, A1111's 100/200),
"depth" estimates depth with a transformers depth model (`depth_model`, DPT or
Depth Anything), "none" takes the image as the map. `scale` weighs the guidance,
`start` and `end` are the part of the denoising (0-1) it acts in.

The controlled pipeline is built with `from_pipe` over the text-to-image weights
plus the ControlNet(s): nothing is loaded twice. A `model` is a hub id, a local
folder or a single `.safetensors` file (A1111's layout, see `controlnet_file`); `loader(kind, name)` loads ControlNets ("controlnet") and depth models
("depth"): the Studio passes one that keeps them in its model cache.

A unit's settings are declared in `SETTINGS` (an error names them as
"control[0] scale", ...); `model` and `image` are its inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pipelines import controlnet_file
from pipelines.image_io import load_image
from pipelines.loading import SAFE_LOAD, load
from pipelines.settings import Setting, Settings

PREPROCESSORS = ("canny", "depth", "none")
DEFAULT_DEPTH_MODEL = "depth-anything/Depth-Anything-V2-Small-hf"
MAX_CONTROLS = 4
KEYS = ("model", "image", "preprocessor", "scale", "start", "end", "low", "high", "depth_model")
PREPROCESSOR_LABELS = {"canny": "canny", "depth": "depth_midas", "none": "none"}  # A1111's module names
SETTINGS = Settings(
    Setting("preprocessor", str, "none", choices=PREPROCESSORS, help=("Preprocessor", "Prétraitement")),
    Setting("scale", float, 1.0, low=0.0, high=2.0, step=0.05, help=("Control weight", "Poids du contrôle")),
    Setting("start", float, 0.0, low=0.0, high=1.0, step=0.05,
            help=("Starting control step (0-1)", "Début du contrôle (0-1)")),
    Setting("end", float, 1.0, low=0.0, high=1.0, step=0.05, help=("Ending control step (0-1)", "Fin du contrôle (0-1)")),
    Setting("low", int, 100, low=0, high=255, help=("Canny low threshold", "Seuil bas de Canny")),
    Setting("high", int, 200, low=0, high=255, help=("Canny high threshold", "Seuil haut de Canny")),
)


def check(control: Any) -> list[dict[str, Any]]:
    """The control entries, complete and checked ("control[0] scale must be..."); [] for None."""
    if control is None:
        return []
    if isinstance(control, dict):
        control = [control]
    if not isinstance(control, (list, tuple)):
        raise ValueError(f"control must be a list of dicts like [{{\"model\": ..., \"image\": ...}}], got {type(control).__name__}")
    if len(control) > MAX_CONTROLS:
        raise ValueError(f"control holds {len(control)} entries; at most {MAX_CONTROLS} ControlNets at once")
    entries = []
    for index, entry in enumerate(control):
        name = f"control[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{name} must be a dict with model and image, got {type(entry).__name__}")
        unknown = sorted(set(entry) - set(KEYS))
        if unknown:
            raise ValueError(f"{name} has an unknown key {unknown[0]!r}; allowed: {', '.join(KEYS)}")
        model = entry.get("model")
        if not (isinstance(model, str) and model.strip()):
            raise ValueError(f"{name} model must name a ControlNet (a hub id, a folder or a .safetensors file), got {model!r}")
        checked = {"model": model, "image": load_image(entry.get("image"), f"{name} image"),
                   **_unit_settings(name, entry, ("preprocessor", "scale", "start", "end"))}
        if checked["start"] >= checked["end"]:
            raise ValueError(f"{name} start ({checked['start']:g}) must be below its end ({checked['end']:g})")
        if checked["preprocessor"] == "canny":
            checked.update(_unit_settings(name, entry, ("low", "high")))
        if checked["preprocessor"] == "depth":
            checked["depth_model"] = entry.get("depth_model") or DEFAULT_DEPTH_MODEL
        entries.append(checked)
    return entries


def _unit_settings(name: str, entry: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """`keys` of one unit, checked against their declarations, named as "control[0] scale"."""
    return {key: SETTINGS[key].but(name=f"{name} {key}").check(entry.get(key, SETTINGS[key].default)) for key in keys}


def canny(image: Image.Image, low: int = 100, high: int = 200) -> Image.Image:
    """White edges on black, found by OpenCV's Canny detector."""
    import cv2

    edges = cv2.Canny(np.asarray(image.convert("L")), low, high)
    return Image.fromarray(edges).convert("RGB")


class DepthEstimator:
    """A transformers depth model (DPT, Depth Anything) turning an image into a grey depth map (near = white)."""

    def __init__(self, model, processor, name: str):
        self.model, self.processor, self.name = model, processor, name

    @classmethod
    def from_pretrained(cls, name: str, *, device: str | None = None, dtype=None) -> DepthEstimator:
        def loader(path: str):
            from transformers import AutoImageProcessor, AutoModelForDepthEstimation

            model = AutoModelForDepthEstimation.from_pretrained(path, trust_remote_code=False, **SAFE_LOAD)
            return model.to(device or "cpu").eval(), AutoImageProcessor.from_pretrained(path, trust_remote_code=False)

        model, processor = load(name, "depth estimation", loader)
        return cls(model, processor, name)

    def modules(self) -> list:
        return [self.model]

    def __call__(self, image: Image.Image) -> Image.Image:
        import torch

        inputs = self.processor(images=image, return_tensors="pt").to(self.model.device)
        with torch.no_grad():
            output = self.model(**inputs)
        depth = self.processor.post_process_depth_estimation(output, target_sizes=[image.size[::-1]])[0]["predicted_depth"]
        depth = depth.float().cpu().numpy()
        span = float(depth.max() - depth.min())
        grey = (depth - depth.min()) / span if span > 0 else np.zeros_like(depth)
        return Image.fromarray((grey * 255).round().astype(np.uint8)).convert("RGB")


def control_map(entry: dict[str, Any], size: tuple[int, int], depth: DepthEstimator | None = None) -> Image.Image:
    """The map the ControlNet sees for `entry`, at `size` (the generation's width x height)."""
    image = entry["image"]
    if image.size != tuple(size):
        image = image.resize(size, Image.LANCZOS)
    if entry["preprocessor"] == "canny":
        return canny(image, entry["low"], entry["high"])
    if entry["preprocessor"] == "depth":
        estimator = depth if depth is not None else DepthEstimator.from_pretrained(entry["depth_model"])
        return estimator(image)
    return image


def load_controlnet(name: str, *, device: str | None = None, dtype=None):
    """A ControlNetModel from a hub id, a local diffusers folder or a single `.safetensors` file, safetensors only."""
    controlnet_file.refuse_pickle(name)

    def loader(path: str):
        from diffusers import ControlNetModel

        if Path(path).is_file():  # A1111's models/ControlNet/*.safetensors
            return controlnet_file.load(path, dtype).to(device or "cpu")
        return ControlNetModel.from_pretrained(path, dtype=dtype, **SAFE_LOAD).to(device or "cpu")

    return load(name, "ControlNet", loader)


def supported(pipe) -> bool:
    name = type(pipe).__name__
    return name in ("StableDiffusionPipeline", "StableDiffusionXLPipeline", "StableDiffusionImg2ImgPipeline",
                    "StableDiffusionXLImg2ImgPipeline")


def controlled_pipe(pipe, nets: list, *, img2img: bool):
    """`pipe`'s weights with the ControlNet(s) attached: diffusers' ControlNet (img2img) pipeline."""
    import diffusers

    if not supported(pipe):
        raise ValueError(f"control is not available for {type(pipe).__name__}; ControlNet works with SD 1.x/2.x and SDXL models")
    auto = diffusers.AutoPipelineForImage2Image if img2img else diffusers.AutoPipelineForText2Image
    controlnet = nets[0] if len(nets) == 1 else _multi(nets)
    controlled = auto.from_pipe(pipe, controlnet=controlnet)
    controlled.set_progress_bar_config(**getattr(pipe, "_progress_bar_config", {}))
    return controlled


def _multi(nets: list):
    from diffusers.models.controlnets.multicontrolnet import MultiControlNetModel

    return MultiControlNetModel(nets)


def call_kwargs(entries: list[dict[str, Any]], maps: list[Image.Image], *, img2img: bool) -> dict[str, Any]:
    """The diffusers keywords for the control maps and their scales, starts and ends."""
    one = len(entries) == 1

    def pick(key: str):
        values = [entry[key] for entry in entries]
        return values[0] if one else values

    return {
        "control_image" if img2img else "image": maps[0] if one else maps,
        "controlnet_conditioning_scale": pick("scale"),
        "control_guidance_start": pick("start"),
        "control_guidance_end": pick("end"),
    }


def recipe(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the recipe keeps of each entry: everything but the image (an input, like `image`)."""
    return [{k: v for k, v in entry.items() if k != "image"} for entry in entries]


def _direct_loader(device: str, dtype):
    def loader(kind: str, name: str):
        if kind == "controlnet":
            return load_controlnet(name, device=device, dtype=dtype)
        return DepthEstimator.from_pretrained(name, device=device)

    return loader


def prepare(wrapper, control: Any, size: tuple[int, int], *, img2img: bool, loader=None):
    """(the wrapper over the controlled pipe, its call keywords, the recipe rows) for `control`."""
    entries = check(control)
    loader = loader or _direct_loader(wrapper.device, wrapper.pipe.dtype)
    if not supported(wrapper.pipe):
        raise ValueError(f"control is not available for {type(wrapper.pipe).__name__}; "
                         "ControlNet works with SD 1.x/2.x and SDXL models")
    nets = [loader("controlnet", entry["model"]) for entry in entries]
    maps = [control_map(entry, size, loader("depth", entry["depth_model"]) if entry["preprocessor"] == "depth" else None)
            for entry in entries]
    runner = type(wrapper)(controlled_pipe(wrapper.pipe, nets, img2img=img2img), wrapper.model)
    runner._default_scheduler = wrapper._default_scheduler
    return runner, call_kwargs(entries, maps, img2img=img2img), recipe(entries)


def infotext(entry: dict[str, Any]) -> str:
    """A1111's `ControlNet N` value: "Module: canny, Model: name, Weight: 1.0, ..."."""
    from pathlib import PurePath

    parts = [f"Module: {PREPROCESSOR_LABELS.get(entry.get('preprocessor'), entry.get('preprocessor'))}",
             f"Model: {PurePath(str(entry.get('model', ''))).name}", f"Weight: {entry.get('scale', 1.0)}"]
    if entry.get("preprocessor") == "canny":
        parts += [f"Threshold A: {entry.get('low', 100)}", f"Threshold B: {entry.get('high', 200)}"]
    parts += [f"Guidance Start: {entry.get('start', 0.0)}", f"Guidance End: {entry.get('end', 1.0)}"]
    return ", ".join(parts)

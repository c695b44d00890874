"""Image upscaling with a transformers Swin2SR model, tiled for large images.

The model has a fixed factor (x2 or x4, `config.upscale`); other scales run it
several times (x4 from an x2 model is two passes) and a scale it cannot reach
exactly is finished with a Lanczos resize, recorded in the recipe. Large images
are cut into overlapping tiles so memory stays bounded; each tile's border is
thrown away so seams do not show.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from pipelines.devices import precision_of
from pipelines.image_io import load_image
from pipelines.loading import SAFE_LOAD
from pipelines.results import ImageResult
from pipelines.settings import Setting, Settings, checked
from pipelines.wrapper import Wrapper

SCALES = (2, 4)
SETTINGS = Settings(
    Setting("scale", int, 2, choices=SCALES, help=("Scale", "Facteur")),
    Setting("tile", int, 256, low=32, high=2048, step=32, unit="px",
            help=("Tile size (pixels of input at a time)", "Taille des tuiles (pixels d'entrée)")),
)
D = SETTINGS.defaults
MAX_OUTPUT_SIDE = 8192


class Upscaler(Wrapper):
    task = "upscale"
    kind = "upscale"  # for the number format (pipelines.devices)
    loading = "upscaling"

    def __init__(self, model, processor, name: str):
        self.model = model
        self.processor = processor
        self.name = name
        self.factor = int(model.config.upscale)

    @classmethod
    def load_parts(cls, name: str, device: str, dtype) -> tuple:
        """A Swin2SR model and its image processor."""
        from transformers import AutoImageProcessor, Swin2SRForImageSuperResolution

        network = Swin2SRForImageSuperResolution.from_pretrained(name, dtype=dtype, **SAFE_LOAD)
        return network.to(device).eval(), AutoImageProcessor.from_pretrained(name)

    @checked(SETTINGS)
    def __call__(self, image, *, scale: int = D.scale, tile: int = D.tile) -> ImageResult:
        """Upscale `image` by `scale` (2 or 4), `tile` pixels of input at a time."""
        # 1. check: the declared settings on the way in (@checked), then the image and the output's size
        source = load_image(image)
        width, height = source.size
        if max(width, height) * scale > MAX_OUTPUT_SIDE:
            raise ValueError(
                f"image is {width}x{height}; at scale {scale} it would be {width * scale}x{height * scale}, "
                f"beyond the {MAX_OUTPUT_SIDE} pixel limit a side: use a smaller scale or image"
            )
        # 2. prepare: passes of the model's own factor
        passes = max(1, math.ceil(math.log(scale, self.factor)))
        pixels = np.asarray(source, dtype=np.float32) / 255.0
        # 3. run
        for _ in range(passes):
            pixels = self._tiled(pixels, tile)
        result = Image.fromarray((np.clip(pixels, 0, 1) * 255).round().astype(np.uint8))
        # 4. record (finishing with a resize when the model's factor cannot reach the scale)
        exact = result.size == (width * scale, height * scale)
        if not exact:
            result = result.resize((width * scale, height * scale), Image.LANCZOS)
        params = {
            "task": self.task, "model": self.name, "scale": scale, "tile": tile, "passes": passes,
            "source_size": f"{width}x{height}", "width": width * scale, "height": height * scale,
            "dtype": precision_of(self.model),
        }
        if not exact:
            params["notices"] = [f"the model upscales x{self.factor}; the last step to x{scale} is a Lanczos resize"]
        return ImageResult(images=[result], seeds=[None], params=params)

    def _tiled(self, pixels: np.ndarray, tile: int) -> np.ndarray:
        """One pass of the model over (H, W, 3) floats in [0, 1], tile by tile."""
        height, width, _ = pixels.shape
        factor, margin = self.factor, 16
        out = np.zeros((height * factor, width * factor, 3), dtype=np.float32)
        for top in range(0, height, tile):
            for left in range(0, width, tile):
                bottom, right = min(top + tile, height), min(left + tile, width)
                # Upscale the tile with a margin of context, then keep only its own area.
                y0, x0 = max(0, top - margin), max(0, left - margin)
                y1, x1 = min(height, bottom + margin), min(width, right + margin)
                up = self._once(pixels[y0:y1, x0:x1])
                out[top * factor:bottom * factor, left * factor:right * factor] = up[
                    (top - y0) * factor:(bottom - y0) * factor, (left - x0) * factor:(right - x0) * factor
                ]
        return out

    def _once(self, pixels: np.ndarray) -> np.ndarray:
        import torch

        height, width, _ = pixels.shape
        image = Image.fromarray((np.clip(pixels, 0, 1) * 255).round().astype(np.uint8))
        inputs = self.processor(image, return_tensors="pt")
        values = inputs["pixel_values"].to(self.model.device, self.model.dtype)
        with torch.no_grad():
            reconstruction = self.model(pixel_values=values).reconstruction
        # The processor pads to a multiple of the window: crop back to factor x input.
        crop = reconstruction[0, :, : height * self.factor, : width * self.factor].float().clamp(0, 1)
        return crop.permute(1, 2, 0).cpu().numpy()

"""Step previews through a tiny autoencoder (TAESD), falling back to the pipeline's own VAE.

The full VAE decode of a 512x512 image costs more than a denoising step on a CPU;
the tiny autoencoders trained to decode the same latents (`AutoencoderTiny`:
TAESD for SD 1/2, TAESDXL, TAESD3, TAEF1) cost a fraction of it, which is what
makes "noise turning into an image", step by step, cheap enough to show by
default. A preview is an approximation: the final image always goes through the
full VAE.

Where the decoder comes from, first found wins:
1. a `preview_decoder/` folder inside a local model folder (an `AutoencoderTiny`
   saved with `save_pretrained`; the tiny test model carries one),
2. the family's hub model (`FAMILY_DECODERS`), from the Hugging Face cache or
   downloaded once like any model (about 10 MB),
3. none: previews decode with the full VAE.

Previews are decoded at 256x256 at most (`MAX_PREVIEW_LATENT`). Even so, on a
CPU a tiny decoder's preview costs a sizeable share of a denoising step (SD at
512x512: TAESD is 0.13x the full VAE, whose decode costs about three steps), so
the wrappers' default (their step-preview setting left at None,
`pipelines.image.SETTINGS`) is a budget rather than a rate: where a tiny
decoder is loaded and a callback watches, a step is previewed when the
previews so far plus one more stay within 5% of the time spent denoising (`PreviewBudget`). Fast machines get every step, slow ones fewer; the
image itself never depends on it. With only the full VAE the default is none.
"""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from PIL import Image

from pipelines.loading import SAFE_LOAD, load

LOCAL_FOLDER = "preview_decoder"
# Previews decode at most this many latent pixels a side (256x256 images for SD's 8x VAE):
# a step strip shows thumbnails, and the tiny decoder's cost grows with the pixels.
MAX_PREVIEW_LATENT = 32
FAMILY_DECODERS = {
    "sd": "madebyollin/taesd",
    "sdxl": "madebyollin/taesdxl",
    "sd3": "madebyollin/taesd3",
    "flux": "madebyollin/taef1",
}


def family(pipe) -> str:
    """The latent family of a diffusers pipeline: sd, sdxl, sd3 or flux."""
    name = type(pipe).__name__
    if "Flux" in name:
        return "flux"
    if "StableDiffusion3" in name:
        return "sd3"
    if "XL" in name:
        return "sdxl"
    return "sd"


class PreviewBudget:
    """Previews as long as they cost at most `share` of the denoising time (measured as the steps run).

    The first step is previewed to learn the cost; the last is not (the image itself follows).
    """

    def __init__(self, share: float = 0.05):
        self.share = share
        self.started = time.perf_counter()
        self.spent = 0.0
        self.last = 0.0

    def allows(self, done: int, total: int) -> bool:
        if done >= total:
            return False
        if not self.last:
            return True
        elapsed = time.perf_counter() - self.started
        return self.spent + self.last <= self.share * (elapsed + self.last)

    @contextmanager
    def paying(self):
        begin = time.perf_counter()
        try:
            yield
        finally:
            self.last = time.perf_counter() - begin
            self.spent += self.last


def load_decoder(pipe, model: str):
    """The tiny autoencoder for `pipe`'s latents, or None where none loads (previews then use the full VAE).

    Never raises: a missing preview decoder must not stop a model from loading.
    """
    from diffusers import AutoencoderTiny

    candidates = [Path(model).expanduser() / LOCAL_FOLDER] if Path(model).expanduser().is_dir() else []
    candidates.append(FAMILY_DECODERS[family(pipe)])
    channels = getattr(pipe.vae.config, "latent_channels", None)
    for candidate in candidates:
        if isinstance(candidate, Path) and not candidate.is_dir():
            continue
        def loader(name: str):
            with warnings.catch_warnings():  # diffusers' hub lookup warns of a deprecated argument of its own
                warnings.simplefilter("ignore")
                return AutoencoderTiny.from_pretrained(name, dtype=pipe.vae.dtype, **SAFE_LOAD)

        try:
            decoder = load(str(candidate), "step previews", loader)
        except Exception:  # offline, not in the cache, or damaged: the next candidate, then the full VAE
            continue
        if decoder.config.latent_channels == channels:
            return decoder.to(pipe.device).eval()
    return None


def decode(decoder, pipe, latents) -> list[Image.Image]:
    """Preview images of `latents` (as the denoising loop holds them) through the tiny `decoder`."""
    import torch

    config = decoder.config
    largest = max(latents.shape[-2:])
    if latents.ndim == 4 and largest > MAX_PREVIEW_LATENT:
        latents = torch.nn.functional.interpolate(latents.float(), scale_factor=MAX_PREVIEW_LATENT / largest, mode="area")
    latents = latents.to(decoder.device, decoder.dtype) / config.scaling_factor + (getattr(config, "shift_factor", 0) or 0)
    with torch.no_grad():
        pixels = decoder.decode(latents, return_dict=False)[0]
    return pipe.image_processor.postprocess(pixels.float().clamp(-1, 1), output_type="pil")

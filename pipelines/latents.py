"""A VAE's latent space, shown: encode an image, look at its latent channels, decode it back.

Stable Diffusion works on latents 8x smaller a side with 4 channels: a 512x512
RGB image (786,432 numbers) becomes 64x64x4 (16,384), 48 times fewer. Decoding
them back shows what the compression keeps and loses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from pipelines.image_io import load_image


@dataclass
class LatentView:
    channels: list  # one greyscale PIL image per latent channel, scaled up to the input size
    reconstruction: Image.Image
    latent_shape: tuple[int, ...]  # (channels, height, width)
    compression: float  # input numbers / latent numbers
    psnr: float  # reconstruction quality in dB (higher is closer)
    params: dict


def explore(pipe, image, *, model: str = "") -> LatentView:
    """Encode `image` with `pipe.vae`, then decode it; `pipe` is a diffusers image pipeline with a VAE.

    SD 1.x/2.x and SDXL latents have 4 channels; SD3 and FLUX.1 have 16.
    """
    import torch

    from pipelines.families import check_feature

    check_feature(pipe, "the VAE view")

    source = load_image(image)
    factor = pipe.vae_scale_factor
    width, height = source.size
    width, height = max(factor, width // factor * factor), max(factor, height // factor * factor)
    source = source.resize((width, height), Image.LANCZOS) if source.size != (width, height) else source
    vae = pipe.vae
    pixels = torch.from_numpy(np.asarray(source, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]
    with torch.no_grad():
        latents = vae.encode(pixels.to(vae.device, vae.dtype)).latent_dist.mode()
        decoded = vae.decode(latents, return_dict=False)[0]
    reconstruction = pipe.image_processor.postprocess(decoded, output_type="pil")[0]
    latent = latents[0].float().cpu().numpy()
    channels = [_channel_image(c, (width, height)) for c in latent]
    error = np.mean((np.asarray(reconstruction, dtype=np.float64) - np.asarray(source, dtype=np.float64)) ** 2)
    psnr = float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))
    compression = (width * height * 3) / latent.size
    params = {"task": "vae_latents", "model": model, "width": width, "height": height,
              "latent_shape": list(latent.shape), "compression": round(compression, 2), "psnr": round(psnr, 2)}
    return LatentView(channels, reconstruction, tuple(latent.shape), compression, psnr, params)


def _channel_image(channel: np.ndarray, size: tuple[int, int]) -> Image.Image:
    low, high = float(channel.min()), float(channel.max())
    scaled = np.zeros_like(channel) if high == low else (channel - low) / (high - low)
    return Image.fromarray((scaled * 255).round().astype(np.uint8)).resize(size, Image.NEAREST)

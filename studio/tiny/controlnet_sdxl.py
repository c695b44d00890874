"""A tiny ControlNet for the tiny SDXL model (see `controlnet`)."""

from studio.tiny.controlnet import build_sdxl as build

__all__ = ["build"]

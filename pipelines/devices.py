"""Where models run and in which precision, when the caller does not say.

CUDA: half precision (bfloat16 for language models where the GPU supports it,
float16 otherwise). Apple MPS: float16 for diffusion, float32 elsewhere. CPU:
float32, the only precision that is both fast and exact there.

torch is imported inside the functions, as in every wrapper module: reading a
wrapper's signature (the UI does, for its defaults) must not load torch.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# torch's global random generator is one per process, so the lock guarding it is
# too: models that draw from it (VITS, MusicGen, `generate` sampling) take turns,
# or two seeded calls in two threads would interleave their draws.
_GLOBAL_GENERATOR = threading.Lock()

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "float16", "bfloat16")
DEVICE_NAME = r"(cpu|cuda|mps|xpu|npu|hpu)(:\d+)?"


def check_device(preference: Any) -> str:
    """`preference` when it names a kind of device ("auto", "cpu", "cuda", "cuda:1", "mps"), else a ValueError.

    Other accelerators torch knows (xpu, npu, hpu) pass too: accelerate may hand them to the batch runner.
    """
    if isinstance(preference, str) and (preference == "auto" or re.fullmatch(DEVICE_NAME, preference)):
        return preference
    raise ValueError(f"unknown device {preference!r}; choose one of: {', '.join(DEVICES)} (or cuda:N)")


def check_dtype(preference: Any) -> Any:
    """`preference` when it names a precision ("auto", "float16", ...) or is not a name (a torch dtype), else a ValueError."""
    if isinstance(preference, str) and preference not in DTYPES:
        raise ValueError(f"unknown dtype {preference!r}; choose one of: {', '.join(DTYPES)}")
    return preference


def pick_device(preference: str = "auto") -> str:
    import torch

    if preference not in ("auto", None):
        check_device(preference)
        if preference.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device {preference!r} was asked for but CUDA is not available; use 'cpu' or 'auto'")
        if preference == "mps" and not torch.backends.mps.is_available():
            raise ValueError("device 'mps' was asked for but Apple MPS is not available; use 'cpu' or 'auto'")
        return preference
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str, preference=None, *, language_model: bool = False):
    """A torch dtype: `preference` (a dtype or its name) unless it is "auto" or None."""
    import torch

    if isinstance(preference, torch.dtype):
        return preference
    if preference not in ("auto", None):
        if preference not in DTYPES:
            raise ValueError(f"unknown dtype {preference!r}; choose one of: {', '.join(DTYPES)}")
        return getattr(torch, preference)
    if device.startswith("cuda"):
        return torch.bfloat16 if language_model and torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps" and not language_model:
        return torch.float16
    return torch.float32


def generator(device: str, seed: int):
    """A seeded torch generator; on MPS noise is drawn on the CPU, which MPS generators do not reproduce."""
    import torch

    return torch.Generator("cpu" if device == "mps" else device).manual_seed(seed)


@contextmanager
def seeded(seed: int, device: str) -> Iterator[None]:
    """Seed torch's global generators inside the block, one block at a time in the process.

    For models that draw noise without taking a generator. The caller's random
    state is put back afterwards.
    """
    import torch

    devices = [torch.device(device).index or 0] if device.startswith("cuda") else []
    with _GLOBAL_GENERATOR, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextmanager
def generator_untouched() -> Iterator[None]:
    """Hold torch's global CPU generator inside the block and give its state back afterwards.

    For code that draws from it though no result depends on it: loading VITS or
    MusicGen initialises weights at random before reading them, which would shift
    the draws of a seeded block running in another thread.
    """
    import torch

    with _GLOBAL_GENERATOR, torch.random.fork_rng(devices=[]):
        yield

"""Where models run and in which number format, when the caller does not say.

The format is chosen per model kind (`KINDS`), by what the hardware does fast:
- CUDA: half precision (bfloat16 for language models where the GPU supports it,
  float16 otherwise).
- Apple MPS: float16 for diffusion, float32 elsewhere.
- CPU with bfloat16 units (AMX or AVX512-BF16 in the CPU flags: Sapphire Rapids
  and later Xeons, Zen 4 and later): bfloat16 for the kinds where it measured
  faster than float32 there (diffusion 0.40x, Whisper 0.53x, VITS 0.48x, MusicGen
  0.83x); float32 for the upscaler. A language model's decode is bound by memory,
  not arithmetic (bf16 0.95x), so it is not among them:
- CPU with int8 kernels (AVX2 or better: fbgemm's; VNNI and AMX speed them up):
  "int8" for the kinds that decode token by token, where it measured faster than
  float32 on an AVX2-only EPYC (Zen 3, 2 cores): chat decode 0.38x, first token
  0.36x, Whisper 0.75x (the whole model), MusicGen 0.22x (its decoder). A CPU with
  bfloat16 units keeps bfloat16 for Whisper and MusicGen (measured there).
  `pipelines.quantize` stores the linear weights as int8 (one scale per output
  channel) and quantizes the activations on the fly.
- Any other CPU (ARM, no AVX2, or flags unreadable): float32. bfloat16 is emulated
  on AVX2, about 25x slower than float32 (measured on an AVX2-only EPYC).
"int8" is a CPU format for the kinds in `INT8_ON_CPU` only: asked for, the other
kinds take their automatic format.

torch is imported inside the functions, as in every wrapper module: reading a
wrapper's signature (the UI does, for its defaults) must not load torch.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# torch's global random generator is one per process, so the lock guarding it is
# too: models that draw from it (VITS, MusicGen, `generate` sampling) take turns,
# or two seeded calls in two threads would interleave their draws.
_GLOBAL_GENERATOR = threading.RLock()  # reentrant: a load inside a load holds it twice

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("auto", "float32", "float16", "bfloat16", "int8")
# What a model is, for choosing its number format.
KINDS = ("diffusion", "language_model", "speech_to_text", "text_to_speech", "music", "upscale")
# The kinds bfloat16 measured faster for on CPUs with bfloat16 units (ratios above).
BF16_ON_CPU = frozenset({"diffusion", "speech_to_text", "text_to_speech", "music"})
# The kinds int8 weights measured faster for on CPUs with int8 kernels (ratios above).
INT8_ON_CPU = frozenset({"language_model", "speech_to_text", "music"})
# CPU flags (/proc/cpuinfo) of the units that make a format fast.
CPU_UNITS = {
    "bf16": {"amx_bf16", "avx512_bf16"},
    "int8": {"avx2", "amx_int8", "avx512_vnni", "avx_vnni"},  # fbgemm's int8 kernels need AVX2
}
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


def cpu_units() -> frozenset[str]:
    """The number formats this CPU computes fast: "bf16" (AMX or AVX512-BF16), "int8" (AVX2 or better).

    torch.backends.mkldnn says bf16 is "supported" on any AVX2 CPU, where it is
    emulated and slow, so the CPU flags decide. `STUDIO_CPU_UNITS` overrides the
    detection ("none", "bf16", "int8", "bf16,int8"): the tests set "none" so that
    one seed gives one output on every machine they run on.
    """
    forced = os.environ.get("STUDIO_CPU_UNITS", "").strip().lower()
    if forced:
        return frozenset(unit for unit in forced.replace(" ", "").split(",") if unit in CPU_UNITS)
    return _units_in_flags("/proc/cpuinfo")


@functools.lru_cache(maxsize=4)  # the flags do not change while the process runs
def _units_in_flags(cpuinfo: str) -> frozenset[str]:
    """The units the first `flags` line of `cpuinfo` names; no such file or line (not Linux): none."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[-1].split())
                    return frozenset(unit for unit, names in CPU_UNITS.items() if flags & names)
    except OSError:
        pass
    return frozenset()


def precision(device: str, preference=None, *, kind: str = "") -> str:
    """The number format (a name of `DTYPES` but "auto") a model of `kind` runs in on `device`.

    `preference` (a name or a torch dtype) wins unless it is "auto" or None;
    "int8" is for the kinds in `INT8_ON_CPU`, on the CPU only (other kinds take their automatic format).
    """
    if kind and kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of: {', '.join(KINDS)}")
    if preference is not None and not isinstance(preference, str):
        return str(preference).removeprefix("torch.")
    check_dtype(preference)
    if preference == "int8":
        if kind in INT8_ON_CPU and device == "cpu":
            return "int8"
        if kind in INT8_ON_CPU:
            raise ValueError(f"dtype 'int8' runs on the CPU only, not on {device!r}; choose float16 or bfloat16 there")
        preference = "auto"  # int8 is a format of the kinds that decode token by token: the others take their own
    if preference not in ("auto", None):
        return preference
    if device.startswith("cuda"):
        import torch

        return "bfloat16" if kind == "language_model" and torch.cuda.is_bf16_supported() else "float16"
    if device == "mps":
        return "float16" if kind == "diffusion" else "float32"
    if device == "cpu" and kind in BF16_ON_CPU and "bf16" in cpu_units():
        return "bfloat16"
    if device == "cpu" and kind in INT8_ON_CPU and "int8" in cpu_units():
        return "int8"
    return "float32"


def pick_dtype(device: str, preference=None, *, kind: str = ""):
    """The torch dtype a model's weights load in: `precision`'s, float32 for int8 (quantized after loading)."""
    import torch

    if isinstance(preference, torch.dtype):
        return preference
    name = precision(device, preference, kind=kind)
    return torch.float32 if name == "int8" else getattr(torch, name)


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


def precision_of(model) -> str:
    """The number format `model` (a torch module or a diffusers pipeline) runs in, for the recipe."""
    from pipelines.quantize import INT8_ATTRIBUTE

    if getattr(model, INT8_ATTRIBUTE, False):
        return "int8"
    return str(model.dtype).removeprefix("torch.")


def fast_layout(pipe):
    """`pipe` with its UNet and VAE in channels_last where that is faster: bfloat16 on CPU (measured 1.5x).

    oneDNN's bfloat16 convolutions run on channels_last natively; in float32 the
    layout changes little and would only make results differ from a plain load.
    """
    import torch

    if str(pipe.device) == "cpu" and pipe.dtype == torch.bfloat16:
        for name in ("unet", "vae"):
            module = getattr(pipe, name, None)
            if module is not None:
                module.to(memory_format=torch.channels_last)
    return pipe


# A pipeline whose weights take more than this share of the GPU's free memory is
# offloaded (one component on the GPU at a time): the activations need the rest.
OFFLOAD_SHARE = 0.8


def place(pipe, device: str):
    """A diffusers pipeline on `device`, the fastest way that fits.

    CUDA: on the GPU whole when its weights fit, else `enable_model_cpu_offload`
    (A1111's --medvram: slower, but it runs); VAE tiling on, which only tiles
    images larger than the VAE's own tile (SD: 512x512), so large sizes decode
    in bounded memory. Attention is torch's SDPA (the libraries' default). CPU in
    bfloat16: channels_last. `STUDIO_COMPILE=1`: `torch.compile` the denoiser
    (opt-in: its first call compiles, about two minutes on a CPU).
    """
    import torch

    if device.startswith("cuda"):
        index = torch.device(device).index or 0
        free, _ = torch.cuda.mem_get_info(index)
        weights = sum(t.numel() * t.element_size() for m in pipe.components.values() if isinstance(m, torch.nn.Module)
                      for t in [*m.parameters(), *m.buffers()])
        if weights > OFFLOAD_SHARE * free:
            pipe.enable_model_cpu_offload(gpu_id=index)
        else:
            pipe.to(device)
        vae = getattr(pipe, "vae", None)
        if hasattr(vae, "enable_tiling"):
            vae.enable_tiling()
    else:
        pipe.to(device)
    fast_layout(pipe)
    if compile_requested():
        denoiser = getattr(pipe, "unet", None) or getattr(pipe, "transformer", None)
        if denoiser is not None:
            denoiser.compile()  # in place: from_pipe siblings share the compiled module
    return pipe


def compile_requested() -> bool:
    """`STUDIO_COMPILE=1`: compile the denoiser, paying the compile time on its first call."""
    return os.environ.get("STUDIO_COMPILE", "").strip().lower() in ("1", "true", "yes")

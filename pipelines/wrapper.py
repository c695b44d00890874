"""What the wrappers share: loading a model on a device, in a number format, as one call.

A wrapper names its `task` (the recipe's), its `kind` (what it is for the
number format, `pipelines.devices.KINDS`) and `loading` (what it loads, as a
load error says it: "could not load model ... for text to speech"), and
writes only its own loading:

    class TextToSpeech(Wrapper):
        task = "text_to_speech"
        kind = "text_to_speech"
        loading = "text to speech"

        @classmethod
        def load_parts(cls, name, device, dtype):
            ...
            return voice, tokenizer

`from_pretrained(model, device=, dtype=)` picks the device and the number
format (`pipelines.devices`), runs `load_parts` through `pipelines.loading.load`
(safetensors only, loads taking turns, every failure one `ModelLoadError`) and
builds the wrapper from the parts and the model's name: `cls(*parts, model)`,
unless the wrapper's `from_parts` puts them together otherwise. In "int8"
(`pipelines.quantize`, the kinds of `devices.INT8_ON_CPU`) the weights load in
float32 and the linear layers of the model's `int8_parts` are quantized inside
the load. `modules()` is the torch modules holding weights, which the model
cache counts.

torch and transformers are imported inside the hooks, so importing a wrapper
module stays cheap.
"""

from __future__ import annotations

from typing import Any, Self

from pipelines.devices import pick_device, pick_dtype, precision
from pipelines.loading import load
from pipelines.quantize import int8_weights


class Wrapper:
    task = ""  # the recipe's task
    kind = "diffusion"  # for the number format (pipelines.devices.KINDS)
    loading = ""  # what is loaded, for load errors ("text to speech")
    int8_parts = ("",)  # the model's submodules whose linear layers go int8 in "int8" ("": all of it)

    @classmethod
    def from_pretrained(cls, model: str, *, device: str | None = None, dtype=None) -> Self:
        """Load `model` (a hub id or a local folder) on `device` in `dtype` (default: the device's
        format for the wrapper's `kind`, pipelines.devices); a failure is one `ModelLoadError`."""
        device = pick_device(device or "auto")
        int8 = cls.int8_parts if precision(device, dtype, kind=cls.kind) == "int8" else ()
        dtype = pick_dtype(device, dtype, kind=cls.kind)  # float32 for int8: quantized once loaded
        parts = load(model, cls.loading, lambda name: _int8_model(cls.load_parts(name, device, dtype), int8))
        return cls.from_parts(parts, model)

    @classmethod
    def load_parts(cls, name: str, device: str, dtype) -> tuple:
        """What the wrapper is built from, read from `name` (the hub id or the folder's path) onto `device` in
        `dtype` (a torch dtype): the model first. Each wrapper writes its own."""
        raise NotImplementedError(f"{cls.__name__} does not say how its model loads (load_parts)")

    @classmethod
    def from_parts(cls, parts: tuple[Any, ...], model: str) -> Self:
        """The wrapper over what `load_parts` returned, named `model` as the caller named it."""
        return cls(*parts, model)

    def modules(self) -> list:
        """The torch modules holding weights (the model cache counts their memory)."""
        return [self.model]


def _int8_model(parts: tuple, names: tuple[str, ...]) -> tuple:
    """`parts` with int8 weights in the model's (the first part's) submodules `names`; none: as loaded."""
    return (int8_weights(parts[0], names), *parts[1:]) if names else parts

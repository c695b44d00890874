"""int8 weights on CPU for the models that decode token by token (chat, Whisper, MusicGen).

Decoding one token reads every weight once, so it is bound by memory bandwidth:
int8 weights quarter the bytes read, and fbgemm's int8 kernels (AVX2 and better)
also beat the float32 product at the few rows a decode step has. torch's dynamic
quantization stores each `nn.Linear`'s weight as int8 (one scale per output
channel) and quantizes the activations on the fly; embeddings, norms,
convolutions and attention stay float32 (a tied output head gets its own int8
copy, the embedding keeps its float32 one).

The result is deterministic: the same seed gives the same output, run after run,
and equals the raw library's model quantized the same way, but not float32's:
BENCHMARKS.md states how many of the first greedy tokens match float32 over a
prompt set.
"""

from __future__ import annotations

import warnings

INT8_ATTRIBUTE = "studio_int8_weights"  # marks a quantized model, for the recipe (devices.precision_of)


def int8_weights(model, parts: tuple[str, ...] = ("",)):
    """`model` with int8 weights in the linear layers of its submodules named `parts` ("": all of it).

    In place; returns `model`, marked for the recipe.
    """
    import torch

    with warnings.catch_warnings():
        # torch announces eager quantization moves to torchao; 2.13 still ships and runs it,
        # and torchao's int8 kernels measured slower here (BENCHMARKS.md).
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        for part in parts:
            torch.ao.quantization.quantize_dynamic(model.get_submodule(part), {torch.nn.Linear}, dtype=torch.qint8,
                                                   inplace=True)
    setattr(model, INT8_ATTRIBUTE, True)
    return model

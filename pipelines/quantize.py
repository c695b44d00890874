"""int8 weights for language models on CPU: decoding one token reads every weight once.

A language model's decode is bound by memory bandwidth, not arithmetic, so
halving the bytes read per token (bfloat16) barely helps (0.95x) while int8
quarters them. torch's dynamic quantization stores each `nn.Linear`'s weight as
int8 (one scale per output channel) and quantizes the activations on the fly;
the embeddings, norms and the tied output head stay float32.

The result is deterministic: the same seed gives the same tokens, run after run,
but not fp32's tokens: BENCHMARKS.md states how many of the first greedy tokens
match float32 over a prompt set.
"""

from __future__ import annotations

import warnings

INT8_ATTRIBUTE = "studio_int8_weights"  # marks a quantized model, for the recipe (devices.precision_of)


def int8_weights(model):
    """`model` with int8 weights in its linear layers (in place where torch allows; returns the model)."""
    import torch

    with warnings.catch_warnings():
        # torch announces eager quantization moves to torchao; 2.13 still ships and runs it,
        # and torchao's int8 kernels need its own install (bench/README: measured side by side).
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    setattr(quantized, INT8_ATTRIBUTE, True)
    return quantized

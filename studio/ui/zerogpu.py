"""Hugging Face ZeroGPU: a GPU lent per call to functions decorated with `spaces.GPU`.

Elsewhere (locally, on CPU or on a GPU Space) the decorator is not applied, and
the `spaces` package need not be installed. On ZeroGPU the model weights are
loaded at startup (`Studio.preload`), because each call runs in a forked worker
that keeps nothing once it returns; `import spaces` is done first thing in
`app.py`, before anything initialises CUDA.
"""

from __future__ import annotations

import os

from studio import operations


def on_zerogpu() -> bool:
    return os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true", "yes")


def gpu_task(endpoint: str):
    """`@spaces.GPU(duration=...)` on ZeroGPU for a handler of `endpoint` (an `api_name` of the operations
    table, whose `gpu_seconds` it reads: the longest of the operations it serves), no decorator elsewhere."""
    durations = [op.gpu_seconds for op in operations.TABLE if op.api_name == endpoint]
    if not durations:
        raise ValueError(f"{endpoint!r} is no api_name of the operations table (studio/operations.py)")
    if not on_zerogpu():
        return lambda fn: fn
    try:
        import spaces
    except ImportError:
        return lambda fn: fn
    return spaces.GPU(duration=max(durations))

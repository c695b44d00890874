"""Textual-inversion embeddings for one call: loaded as new tokens, removed after.

`embedded(pipe, {token: file})` adds each embedding (A1111's `.safetensors`
layout or diffusers') to the pipeline's tokenizer and text encoder for the
block and takes every added token out after, so later calls encode as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def embedded(pipe, embeddings: dict[str, str]) -> Iterator[None]:
    if not embeddings:
        yield
        return
    from pipelines.errors import ModelLoadError

    loaded = 0
    try:
        for token, path in embeddings.items():
            try:
                pipe.load_textual_inversion(path, token=token)
                loaded += 1
            except Exception as error:  # another family's embedding (its width differs), a damaged file
                reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
                raise ModelLoadError(f"embedding {token!r} could not be used with this model: {reason}") from error
        yield
    finally:
        if loaded:
            pipe.unload_textual_inversion()

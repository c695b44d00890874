"""Input components whose defaults come from the studio, not from the UI.

A setting's default is the preset's override, else the wrapper's signature: the
UI reads them here, so it never states a default of its own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import gradio as gr


def default(studio, section: str, call: Callable, name: str, fallback: Any = None) -> Any:
    """The value `name` takes when a caller leaves it out: preset, then signature."""
    preset = studio.preset.defaults(section)
    if name in preset:
        return preset[name]
    parameter = inspect.signature(call).parameters.get(name)
    if parameter is None or parameter.default in (inspect.Parameter.empty, None):
        return fallback
    return parameter.default


class Slider(gr.Slider):
    """A slider that lets any number through to the studio.

    gradio's own range check answers "Value 500 is greater than maximum value"
    without naming the field; the studio's check names it ("width must be...").
    """

    def preprocess(self, payload):
        return payload


class Number(gr.Number):
    """A number field whose range is checked by the studio (see `Slider`)."""

    def preprocess(self, payload):
        return payload


class Radio(gr.Radio):
    """Radio buttons whose value is checked by the studio, which names the field (see `Slider`)."""

    def preprocess(self, payload):
        return payload


class Image(gr.Image):
    """An image input that hands a file PIL cannot open to the studio as its path.

    gradio's own decoding fails with "Could not preprocess input component at
    index 0" and a traceback in the server log; the studio's reader names the
    field and the file ("image file 'x.png' could not be read as an image").
    """

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Exception:  # not an image, truncated, a decompression bomb: the studio says which
            path = getattr(payload, "path", None)
            return str(path) if path else payload

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


def follow_model(studio, section: str, call: Callable, model: gr.Dropdown, fields: dict[str, gr.components.Component]) -> None:
    """When the user picks a model, `fields` (name -> component) show what it runs with: its own
    preset defaults (`[section.model_defaults."name"]`), else the section's, else the signature's.

    `.input`, not `.change`: History's restore sets the model and its settings together, and
    the restored settings stay.
    """
    def show(name):
        try:
            own = studio.model_defaults(section, studio.model_ref(section, name))
        except ValueError:  # a name still being typed; the operation says what is wrong with it
            return [gr.skip() for _ in fields]
        return [gr.update(value=own[key] if key in own else default(studio, section, call, key)) for key in fields]

    model.input(show, model, list(fields.values()), queue=False, api_visibility="private")


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
    """Radio buttons whose value is checked by the studio, which names the field (see `Slider`).

    The API schema gives the choices' own type: gradio calls every radio a string,
    and a client sending upscale's scale as "4" was then refused by the handler.
    """

    def preprocess(self, payload):
        return payload

    def api_info(self) -> dict[str, Any]:
        info = super().api_info()
        values = info.get("enum", [])
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            info["type"] = "integer"
        elif values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            info["type"] = "number"
        return info


class Image(gr.Image):
    """An image input that hands the studio the uploaded file, undecoded.

    gradio's own decoding reads every pixel before anything checks the size (a
    546 KB PNG of 12000x12000 pixels takes half a GB), and fails without naming
    the field. The studio's reader checks the size from the header first and
    names the field and the file ("image file 'x.png' could not be read as an
    image"). Which files a request may name is checked before this (`inputs`).
    """

    def preprocess(self, payload):
        if payload is None:
            return None
        if payload.url and payload.url.startswith("data:"):  # pasted from the clipboard: opened lazily, read later
            import base64
            import io

            from PIL import Image as PILImage

            try:
                data = base64.b64decode(payload.url.split(",", 1)[1], validate=False)
                return PILImage.open(io.BytesIO(data))
            except Exception:
                raise gr.Error("image could not be read as an image (its data URL is damaged)", print_exception=False) from None
        if not payload.path:
            raise gr.Error("image is missing; upload an image", print_exception=False)
        return str(payload.path)


class File(gr.File):
    """A file input handing over the uploaded file's path.

    gradio 6.31's `type="filepath"` also makes an empty `NamedTemporaryFile`
    in its cache at every call and never removes it.
    """

    def _process_single_file(self, f):
        from gradio.utils import NamedString

        if self.type != "filepath":
            return super()._process_single_file(f)
        if self.file_types and not _has_type(f.path, self.file_types):
            raise gr.Error(f"file must be one of: {', '.join(self.file_types)}", print_exception=False)
        return NamedString(f.path)


def _has_type(path: str, types: list[str]) -> bool:
    from gradio_client.utils import is_valid_file

    return is_valid_file(path, types)

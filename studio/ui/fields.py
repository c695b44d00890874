"""Input components built from the settings' declarations, their defaults from the studio.

`widget(studio.settings(operation)[name])` is a setting's input: its range or
choices, its help as the label, its default the preset's (else the
declaration's); the UI states none of them itself. `spread` lets an event
handler take the settings by name without writing each one out.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Sequence
from typing import Any

import gradio as gr

from studio import operations
from studio.ui.i18n import t


def widget(setting, **overrides) -> gr.components.Component:
    """The input for one declared setting (`Studio.settings(operation)[name]`): its range or choices,
    its default and its help as the label. `overrides` are the component's own keywords (a scale,
    `radio=True` for radio buttons instead of a dropdown, a value where the default is None)."""
    radio = overrides.pop("radio", False)
    options = {"label": t(label_key(setting)), "value": setting.default, **overrides}
    if setting.choices is not None:
        choices = setting.labelled_choices()
        if radio:
            return Radio([value for _, value in choices], **options)
        return gr.Dropdown(choices, **options)
    if setting.type is bool:
        return gr.Checkbox(**options)
    if setting.type is str:
        return gr.Textbox(**options)
    if setting.low is None or setting.high is None or setting.high - setting.low > 10**6:
        return Number(precision=0 if setting.type is int else None, **options)
    step = setting.step or (setting.multiple_of if setting.type is int else (setting.high - setting.low) / 100)
    low = setting.low + step if setting.low_open else setting.low
    # gradio lets positional arguments win over keywords: an override's bounds go in their place
    return Slider(options.pop("minimum", low), options.pop("maximum", setting.high), step=step, **options)


def widgets(settings, names, **overrides) -> dict[str, gr.components.Component]:
    """`widget` for each of `names` (in order), by name; `overrides[name]` are one widget's keywords."""
    return {name: widget(settings[name], **overrides.get(name, {})) for name in names}


def label_key(setting) -> str:
    """The i18n key of a setting's label: its name and a digest of its text (help differs per operation)."""
    digest = hashlib.sha1(setting.help[0].encode()).hexdigest()[:8]
    return f"setting_{setting.name}_{digest}"


def texts() -> dict[str, tuple[str, str]]:
    """The labels of every declared setting of every operation, for `translations`."""
    return {label_key(setting): setting.help for op in operations.TABLE for setting in op.settings() if setting.help[0]}


def spread(names: Sequence[str], into: str = "settings"):
    """Decorator for event handlers: the handler's parameter `into` becomes the parameters `names`.

    gradio and API clients see one parameter per setting (the endpoint's parameter names, in the
    order of its inputs); the body gets them together as the dict `into`, to pass on as keywords:

        @spread(["steps", "guidance"])
        def run(prompt, settings, model=None, progress=gr.Progress()):
            return studio.text_to_image(prompt, model=model, **settings)
    """
    names = list(names)

    def decorate(body):
        declared = inspect.signature(body)
        parameters = []
        for name, parameter in declared.parameters.items():
            if name == into:
                parameters.extend(inspect.Parameter(n, parameter.POSITIONAL_OR_KEYWORD) for n in names)
            else:
                parameters.append(parameter)
        shown = declared.replace(parameters=parameters)

        def gather(args, kwargs) -> dict:
            bound = shown.bind(*args, **kwargs)
            values = {n: bound.arguments.pop(n) for n in names if n in bound.arguments}
            return {**bound.arguments, into: values}

        if inspect.isgeneratorfunction(body):
            def run(*args, **kwargs):
                return (yield from body(**gather(args, kwargs)))
        else:
            def run(*args, **kwargs):
                return body(**gather(args, kwargs))
        run = functools.wraps(body)(run)
        run.__signature__ = shown
        return run

    return decorate


def follow_model(studio, operation: str, model: gr.Dropdown, fields: dict[str, gr.components.Component]) -> None:
    """When the user picks a model, `fields` (name -> component) show what it runs with: its own
    preset defaults (`[section.model_defaults."name"]`), else the section's, else the declaration's.

    `.input`, not `.change`: History's restore sets the model and its settings together, and
    the restored settings stay.
    """
    def show(name):
        try:
            settings = studio.settings(operation, name)
        except ValueError:  # a name still being typed; the operation says what is wrong with it
            return [gr.skip() for _ in fields]
        return [gr.update(value=settings[key].default) for key in fields]

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

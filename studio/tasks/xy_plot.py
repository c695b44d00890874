"""X/Y plot: one image operation run over one or two settings' values, as a labelled grid.

`studio.xy_plot("text_to_image", x=("steps", [10, 20, 30]), y=("guidance", [4, 7]), prompt="a fox", seed=1)`
runs every cell (x across, y down) with the other settings fixed and the same seed
unless the seed is what varies. Any keyword of the operation can vary (seed, steps,
guidance, scheduler, strength, ...); "prompt_sr" is A1111's prompt search and
replace: its first value is searched in the prompt and each value put in its
place (a LoRA weight is varied that way: `<lora:name:0.5>`, `<lora:name:1>`).

The result holds every cell's `ImageResult` and the grid; `save` writes each cell
with its own recipe, then the grid with the plot's recipe.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from pipelines import checks
from studio.base import StudioBase

OPERATIONS = ("text_to_image", "image_to_image", "inpaint", "outpaint")
PROMPT_SR = "prompt_sr"
MAX_CELLS = 64
LABEL_HEIGHT = 24


@dataclass
class XYPlot:
    grid: Image.Image
    cells: list  # ImageResult per cell, row by row (y down, x across)
    params: dict[str, Any]
    x_labels: list[str] = field(default_factory=list)
    y_labels: list[str] = field(default_factory=list)


def _axis(name: str, axis: Any, method) -> tuple[str, list] | None:
    if axis is None:
        return None
    if not isinstance(axis, (list, tuple)) or len(axis) != 2 or not isinstance(axis[0], str):
        raise ValueError(f"{name} must be (setting, [values]), like (\"steps\", [10, 20]), got {axis!r}")
    setting, values = axis
    keywords = _keywords(method)
    if setting != PROMPT_SR and setting not in keywords:
        raise ValueError(f"{name} setting {setting!r} is not a setting of this operation; "
                         f"choose one of: {PROMPT_SR}, {', '.join(sorted(keywords))}")
    if isinstance(values, str):  # as typed in a form or on the command line
        values = read_values(method, name, setting, values)
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{name} values must be a non-empty list, got {values!r}")
    return setting, list(values)


def _keywords(method) -> set[str]:
    return set(inspect.signature(method).parameters) - {"callback", "stop"}


def read_values(method, name: str, setting: str, text: str) -> list:
    """Values as a person types them: "10, 20, 30" (or "a | b" when the values hold commas),
    each read as the setting's type (whole numbers for steps and seed, numbers for guidance)."""
    parts = [part.strip() for part in text.split("|" if "|" in text else ",")]
    if not any(parts):
        raise ValueError(f"{name} values are empty; give them separated by commas, like 10, 20, 30")
    hint = typing.get_type_hints(method).get(setting) if setting != PROMPT_SR else str
    kinds = [k for k in typing.get_args(hint) or (hint,) if k in (int, float)]
    values = []
    for part in parts:
        if not part:
            raise ValueError(f"{name} values {text!r} hold an empty value; separate values by single commas")
        if kinds:
            try:
                number = float(part)
            except ValueError:
                raise ValueError(f"{name} value {part!r} for {setting} is not a number") from None
            whole = int in kinds and float not in kinds
            if whole and not number.is_integer():
                raise ValueError(f"{name} value {part!r} for {setting} must be a whole number")
            part = int(number) if whole else number
        values.append(part)
    return values


def _label(setting: str, value: Any) -> str:
    return f"{value}" if setting == PROMPT_SR else f"{setting}: {value}"


class XYPlotTasks(StudioBase):
    def xy_plot(self, task: str, x: tuple | list, y: tuple | list | None = None, *, stop=None, **settings) -> XYPlot:
        """Run `task` (text_to_image, image_to_image, inpaint, outpaint) for every (x, y) pair of values.

        `x`, `y`: (setting, [values]) or (setting, "v1, v2, v3"); `settings`: the operation's other
        keywords (prompt, image, seed...).
        The seed is drawn once for the whole plot when left out, so only the varied settings differ.
        `stop` (a threading.Event or a function returning True) raises Cancelled at the next step.
        """
        from pipelines.stopping import halt_if, stop_check

        task = checks.choice("task", task, OPERATIONS)
        method = getattr(self, task)
        unknown = sorted(set(settings) - _keywords(method) - {"callback"})
        if unknown:
            raise ValueError(f"setting {unknown[0]!r} is not a setting of {task}")
        x_axis = _axis("x", x, method)
        y_axis = _axis("y", y, method) or ("", [None])
        cells = len(x_axis[1]) * len(y_axis[1])
        if cells > MAX_CELLS:
            raise ValueError(f"x and y make {cells} cells; a plot holds at most {MAX_CELLS}")
        if PROMPT_SR in (x_axis[0], y_axis[0]):
            prompt = settings.get("prompt")
            search = (x_axis if x_axis[0] == PROMPT_SR else y_axis)[1][0]
            if not isinstance(prompt, str) or str(search) not in prompt:
                raise ValueError(f"prompt_sr searches {str(search)!r} in the prompt, but the prompt does not contain it")
        if "seed" not in (x_axis[0], y_axis[0]):
            settings["seed"] = checks.seed(settings.get("seed"))
        should_stop = stop_check(stop)
        if should_stop is not None:  # checked at every step of every cell; no previews are asked for by it
            settings.setdefault("preview_every", 0)
            given = settings.get("callback")

            def callback(*step):
                halt_if(should_stop, "X/Y plot")
                if given is not None:
                    given(*step)

            settings["callback"] = callback
        results = []
        for y_value in y_axis[1]:
            for x_value in x_axis[1]:
                call = dict(settings)
                for setting, value in ((x_axis[0], x_value), (y_axis[0], y_value)):
                    if setting == PROMPT_SR:
                        search = (x_axis if x_axis[0] == PROMPT_SR else y_axis)[1][0]
                        call["prompt"] = call["prompt"].replace(str(search), str(value))
                    elif setting:
                        call[setting] = value
                results.append(method(**call))
        x_labels = [_label(x_axis[0], v) for v in x_axis[1]]
        y_labels = [_label(y_axis[0], v) for v in y_axis[1]] if y_axis[0] else []
        grid = draw_grid([r.images[0] for r in results], x_labels, y_labels)
        recipe = {"task": "xy_plot", "operation": task, "x": [x_axis[0], x_axis[1]],
                  "y": [y_axis[0], y_axis[1]] if y_axis[0] else None, "prompt": settings.get("prompt", ""),
                  "seed": settings.get("seed"), "preset": self.preset.name, "device": self.device,
                  "settings": {k: v for k, v in settings.items()
                               if k != "callback" and isinstance(v, (str, int, float, bool, type(None)))}}
        return XYPlot(grid=grid, cells=results, params=recipe, x_labels=x_labels, y_labels=y_labels)


def draw_grid(images: list[Image.Image], x_labels: list[str], y_labels: list[str]) -> Image.Image:
    """The cells side by side (x across, y down), each column and row captioned."""
    width, height = max(i.size[0] for i in images), max(i.size[1] for i in images)
    font = ImageFont.load_default()
    left = (max(int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(t, font=font)) for t in y_labels) + 12) if y_labels else 0
    columns, rows = len(x_labels), max(1, len(y_labels))
    grid = Image.new("RGB", (left + columns * width, LABEL_HEIGHT + rows * height), "white")
    draw = ImageDraw.Draw(grid)
    for column, text in enumerate(x_labels):
        draw.text((left + column * width + 4, 6), text, fill="black", font=font)
    for row, text in enumerate(y_labels):
        draw.text((6, LABEL_HEIGHT + row * height + height // 2 - 6), text, fill="black", font=font)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        grid.paste(image, (left + column * width, LABEL_HEIGHT + row * height))
    return grid

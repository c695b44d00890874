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


def _axis(name: str, axis: Any, operation_keywords: set[str]) -> tuple[str, list] | None:
    if axis is None:
        return None
    if not isinstance(axis, (list, tuple)) or len(axis) != 2 or not isinstance(axis[0], str):
        raise ValueError(f"{name} must be (setting, [values]), like (\"steps\", [10, 20]), got {axis!r}")
    setting, values = axis
    if setting != PROMPT_SR and setting not in operation_keywords:
        raise ValueError(f"{name} setting {setting!r} is not a setting of this operation; "
                         f"choose one of: {PROMPT_SR}, {', '.join(sorted(operation_keywords))}")
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{name} values must be a non-empty list, got {values!r}")
    return setting, list(values)


def _label(setting: str, value: Any) -> str:
    return f"{value}" if setting == PROMPT_SR else f"{setting}: {value}"


class XYPlotTasks(StudioBase):
    def xy_plot(self, task: str, x: tuple | list, y: tuple | list | None = None, **settings) -> XYPlot:
        """Run `task` (text_to_image, image_to_image, inpaint, outpaint) for every (x, y) pair of values.

        `x`, `y`: (setting, [values]); `settings`: the operation's other keywords (prompt, image, seed...).
        The seed is drawn once for the whole plot when left out, so only the varied settings differ.
        """
        import inspect

        task = checks.choice("task", task, OPERATIONS)
        method = getattr(self, task)
        keywords = set(inspect.signature(method).parameters) - {"callback"}
        unknown = sorted(set(settings) - keywords)
        if unknown:
            raise ValueError(f"setting {unknown[0]!r} is not a setting of {task}")
        x_axis = _axis("x", x, keywords)
        y_axis = _axis("y", y, keywords) or ("", [None])
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
                  "settings": {k: v for k, v in settings.items() if isinstance(v, (str, int, float, bool, type(None)))}}
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

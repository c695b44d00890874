"""An X/Y plot as files: every cell with its own recipe, then the labelled grid with the plot's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import PngImagePlugin

from studio import __version__
from studio.outputs import image as save_image
from studio.outputs import write_files
from studio.outputs.infotext import format_infotext


def save(result, folder: Path) -> list[Path]:
    """The grid first (what a gallery shows), then the cells, row by row."""
    cells = [path for cell in result.cells for path in save_image.save(cell, folder)]
    recipe = {**result.params, "cells": [p.name for p in cells], "studio_version": __version__}
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", format_infotext(recipe))
    info.add_itxt(save_image.RECIPE_CHUNK, json.dumps(recipe, ensure_ascii=False, default=str))
    grid = write_files(folder, "xy_plot-grid", {".png": lambda file: result.grid.save(file, "PNG", pnginfo=info)})
    return grid + cells


def read(path: Path) -> dict[str, Any] | None:
    return None  # the grid is a PNG with a recipe chunk: the image reader reads it

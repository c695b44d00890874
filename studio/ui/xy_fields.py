"""Text → Image's X/Y plot: the tab's settings run over one or two settings' values, as a labelled grid."""

from __future__ import annotations

import gradio as gr

from studio.ui.i18n import t
from studio.ui.model_picker import client_model

TEXTS = {
    "xy_title": ("X/Y plot", "Tableau X/Y"),
    "xy_x": ("X setting (across)", "Réglage X (en colonnes)"),
    "xy_y": ("Y setting (down; none = one row)", "Réglage Y (en lignes ; aucun = une ligne)"),
    "xy_values": ("Values, separated by commas (| when they hold commas)",
                  "Valeurs, séparées par des virgules (| si elles en contiennent)"),
    "xy_run": ("Plot", "Tracer"),
}

# What A1111's X/Y plot offers first; prompt_sr replaces its first value in the prompt by each value.
AXES = ["seed", "steps", "guidance", "scheduler", "width", "height", "prompt_sr"]
NONE = "none"


def fields() -> dict:
    """The plot's components, with its Plot button under "run" (any setting may be typed: the plot names a wrong one)."""
    with gr.Accordion(t("xy_title"), open=False):
        with gr.Row():
            x_setting = gr.Dropdown(AXES, value="steps", label=t("xy_x"), scale=1, allow_custom_value=True)
            x_values = gr.Textbox(value="10, 20, 30", label=t("xy_values"), scale=2)
        with gr.Row():
            y_setting = gr.Dropdown([NONE, *AXES], value="guidance", label=t("xy_y"), scale=1, allow_custom_value=True)
            y_values = gr.Textbox(value="4, 7, 10", label=t("xy_values"), scale=2)
        run = gr.Button(t("xy_run"), variant="secondary")
    return {"x_setting": x_setting, "x_values": x_values, "y_setting": y_setting, "y_values": y_values, "run": run}


def axes(x_setting, x_values, y_setting, y_values) -> dict:
    """The `x=` and `y=` keywords of `Studio.xy_plot` from the fields (values parsed there, errors naming x or y)."""
    chosen = {"x": _axis("x", x_setting, x_values or "")}
    if y_setting not in (None, "", NONE):
        chosen["y"] = _axis("y", y_setting, y_values or "")
    return chosen


def _axis(name: str, setting, values):
    """A model axis names each model as the tab's dropdown does: a hub id or a library name, never a
    server path (the setting is typed freely, and the studio itself loads any path it is given)."""
    if setting != "model" or not isinstance(values, str):
        return setting, values
    parts = [part.strip() for part in values.split("|" if "|" in values else ",")]  # as read_values splits them
    if not any(parts):
        return setting, values  # the studio's message for empty values
    return setting, [client_model(part, field=f"{name} values") for part in parts]


def tab_recipe(plot: dict) -> dict:
    """A plot's recipe as Text → Image's History restore reads it: the fixed settings, and the axes
    as "xy.x_setting" / "xy.x_values" ... (values written as a person types them)."""
    def typed(values) -> str:
        return (" | " if any("," in str(v) for v in values) else ", ").join(str(v) for v in values)

    x, y = plot.get("x") or ["", []], plot.get("y")
    axes = {"x_setting": x[0], "x_values": typed(x[1]), "y_setting": y[0] if y else NONE,
            "y_values": typed(y[1]) if y else ""}
    fixed = plot.get("settings") if isinstance(plot.get("settings"), dict) else {}
    chosen = {**fixed, "prompt": plot.get("prompt", ""), "seed": plot.get("seed")}
    # A value the plot left to the studio (no model named, a seed that varied) leaves its field as it is.
    return {**{k: v for k, v in chosen.items() if v is not None}, "task": plot.get("operation", "text_to_image"),
            "xy": axes}

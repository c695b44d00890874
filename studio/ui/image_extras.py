"""Image tab extras: the hires fix and a ControlNet unit, accordions beside the settings."""

from __future__ import annotations

import gradio as gr

from studio.tasks.image import ImageTasks
from studio.ui.errors import guard
from studio.ui.fields import Image, label_key, widget
from studio.ui.i18n import t
from studio.ui.model_picker import choices, client_model

TEXTS = {
    "hr_title": ("Hires fix", "Haute résolution (hires fix)"),
    "hr_on": ("Generate, upscale, then redraw at the bigger size", "Générer, agrandir, puis redessiner en grand"),
    # the labels of the settings inside hires={...} and control=[{...}]: their declarations' help
    **{label_key(setting): setting.help for part in ("hires", "control") for setting in ImageTasks.part_settings(part)},
}


def hires_fields(studio) -> dict:
    """The hires fix's components, by the names history restores them with."""
    settings = studio.part_settings("hires")
    with gr.Accordion(t("hr_title"), open=False):
        on = gr.Checkbox(value=False, label=t("hr_on"))
        with gr.Row():
            scale, steps = widget(settings["scale"]), widget(settings["steps"])
        with gr.Row():
            strength, upscaler = widget(settings["strength"]), widget(settings["upscaler"], radio=True)
    return {"hires.on": on, "hires.scale": scale, "hires.steps": steps, "hires.strength": strength,
            "hires.upscaler": upscaler}


def hires_value(on, scale, steps, strength, upscaler) -> dict | None:
    """The `hires=` keyword from the fields: None when the hires fix is off (a None value: the declared default)."""
    return {"scale": scale, "steps": steps, "strength": strength, "upscaler": upscaler} if on else None


CONTROL_TEXTS = {
    "cn_title": ("ControlNet", "ControlNet"),
    "cn_model": ("ControlNet model (preset, models folder's ControlNet/, or a hub id; empty = off)",
                 "Modèle ControlNet (préréglage, dossier ControlNet/ des modèles, ou id du hub ; vide = aucun)"),
    "cn_image": ("Control image", "Image de contrôle"),
    "cn_preview": ("Preview the control map", "Voir la carte de contrôle"),
    "cn_map": ("Control map", "Carte de contrôle"),
}
TEXTS.update(CONTROL_TEXTS)


def control_fields(studio) -> dict:
    """One ControlNet unit; the control map can be previewed before generating."""
    settings = studio.part_settings("control")
    with gr.Accordion(t("cn_title"), open=False):
        model = gr.Dropdown(choices(studio, "controlnet"), value=None, allow_custom_value=True, label=t("cn_model"))
        with gr.Row():
            image = Image(label=t("cn_image"), type="pil", image_mode=None, sources=["upload", "clipboard"])
            shown = gr.Image(label=t("cn_map"), format="png", interactive=False)
        preprocessor = widget(settings["preprocessor"], radio=True, value="canny")  # edges: what a first try wants
        with gr.Row():
            scale, start, end = (widget(settings[name]) for name in ("scale", "start", "end"))
        preview = gr.Button(t("cn_preview"), size="sm")

    @guard
    def control_map(image, preprocessor):
        return studio.control_map(image, preprocessor)

    preview.click(control_map, [image, preprocessor], shown, api_visibility="private")
    return {"control.model": model, "control.image": image, "control.preprocessor": preprocessor,
            "control.scale": scale, "control.start": start, "control.end": end}


def control_value(model, image, preprocessor, scale, start, end) -> list | None:
    """The `control=` keyword from one unit's fields: None when no ControlNet model is named
    (a None value: the declared default)."""
    if not (isinstance(model, str) and model.strip()):
        return None
    chosen = {"preprocessor": preprocessor, "scale": scale, "start": start, "end": end}
    # Named by the client like the tab's model: a hub id or a library name, never a server path.
    model = client_model(model.strip(), field="control_model")
    return [{"model": model, "image": image, **{k: v for k, v in chosen.items() if v is not None}}]

"""Image tab extras: the hires fix and a ControlNet unit, accordions beside the settings."""

from __future__ import annotations

import gradio as gr

from studio.ui.errors import guard
from studio.ui.fields import Image, Radio, Slider
from studio.ui.i18n import t
from studio.ui.model_picker import choices

TEXTS = {
    "hr_title": ("Hires fix", "Haute résolution (hires fix)"),
    "hr_on": ("Generate, upscale, then redraw at the bigger size", "Générer, agrandir, puis redessiner en grand"),
    "hr_scale": ("Upscale by", "Agrandir de"),
    "hr_steps": ("Hires steps (0 = same as the first pass)", "Étapes hires (0 = comme la première passe)"),
    "hr_strength": ("Denoising strength", "Force de débruitage"),
    "hr_upscaler": ("Upscaler", "Agrandisseur"),
}


def hires_fields() -> dict:
    """The hires fix's components, by the names history restores them with."""
    from pipelines.hires import DEFAULTS, MAX_SCALE, UPSCALERS

    with gr.Accordion(t("hr_title"), open=False):
        on = gr.Checkbox(value=False, label=t("hr_on"))
        with gr.Row():
            scale = Slider(1.05, MAX_SCALE, step=0.05, value=DEFAULTS["scale"], label=t("hr_scale"))
            steps = Slider(0, 150, step=1, value=DEFAULTS["steps"], label=t("hr_steps"))
        with gr.Row():
            strength = Slider(0.05, 1.0, step=0.05, value=DEFAULTS["strength"], label=t("hr_strength"))
            upscaler = Radio(list(UPSCALERS), value=DEFAULTS["upscaler"], label=t("hr_upscaler"))
    return {"hires.on": on, "hires.scale": scale, "hires.steps": steps, "hires.strength": strength,
            "hires.upscaler": upscaler}


def hires_value(on, scale, steps, strength, upscaler) -> dict | None:
    """The `hires=` keyword from the fields: None when the hires fix is off."""
    return {"scale": scale, "steps": steps, "strength": strength, "upscaler": upscaler} if on else None


CONTROL_TEXTS = {
    "cn_title": ("ControlNet", "ControlNet"),
    "cn_model": ("ControlNet model (preset, models folder's ControlNet/, or a hub id; empty = off)",
                 "Modèle ControlNet (préréglage, dossier ControlNet/ des modèles, ou id du hub ; vide = aucun)"),
    "cn_image": ("Control image", "Image de contrôle"),
    "cn_preprocessor": ("Preprocessor", "Prétraitement"),
    "cn_scale": ("Control weight", "Poids du contrôle"),
    "cn_start": ("Starting control step (0-1)", "Début du contrôle (0-1)"),
    "cn_end": ("Ending control step (0-1)", "Fin du contrôle (0-1)"),
    "cn_preview": ("Preview the control map", "Voir la carte de contrôle"),
    "cn_map": ("Control map", "Carte de contrôle"),
}
TEXTS.update(CONTROL_TEXTS)


def control_fields(studio) -> dict:
    """One ControlNet unit; the control map can be previewed before generating."""
    from pipelines.control import PREPROCESSORS

    with gr.Accordion(t("cn_title"), open=False):
        model = gr.Dropdown(choices(studio, "controlnet"), value=None, allow_custom_value=True, label=t("cn_model"))
        with gr.Row():
            image = Image(label=t("cn_image"), type="pil", image_mode=None, sources=["upload", "clipboard"])
            shown = gr.Image(label=t("cn_map"), format="png", interactive=False)
        preprocessor = Radio(list(PREPROCESSORS), value="canny", label=t("cn_preprocessor"))
        with gr.Row():
            scale = Slider(0.0, 2.0, step=0.05, value=1.0, label=t("cn_scale"))
            start = Slider(0.0, 1.0, step=0.05, value=0.0, label=t("cn_start"))
            end = Slider(0.0, 1.0, step=0.05, value=1.0, label=t("cn_end"))
        preview = gr.Button(t("cn_preview"), size="sm")

    @guard
    def control_map(image, preprocessor):
        return studio.control_map(image, preprocessor)

    preview.click(control_map, [image, preprocessor], shown, api_visibility="private")
    return {"control.model": model, "control.image": image, "control.preprocessor": preprocessor,
            "control.scale": scale, "control.start": start, "control.end": end}


def control_value(model, image, preprocessor, scale, start, end) -> list | None:
    """The `control=` keyword from one unit's fields: None when no ControlNet model is named."""
    if not (isinstance(model, str) and model.strip()):
        return None
    return [{"model": model.strip(), "image": image, "preprocessor": preprocessor, "scale": scale, "start": start, "end": end}]

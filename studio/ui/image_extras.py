"""Text → Image extras: the hires fix settings, an accordion beside the others."""

from __future__ import annotations

import gradio as gr

from studio.ui.fields import Radio, Slider
from studio.ui.i18n import t

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

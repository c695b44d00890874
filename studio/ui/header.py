"""The header: preset, device, the models loaded now, and a button to unload them."""

from __future__ import annotations

import gradio as gr

from studio.ui.errors import guard
from studio.ui.i18n import t

TEXTS = {
    "hdr_unload": ("Unload models", "Décharger les modèles"),
    "hdr_language": ("Language: the settings menu at the bottom of the page", "Langue : menu Réglages en bas de page"),
}


def status_text(studio, *, resolved: bool = True) -> str:
    """One line for the header; reads the cache without loading anything.

    `resolved`: name the device "auto" resolves to (the first call imports torch,
    which building the app does not do: the page's load event and the timer call it).
    """
    loaded = studio.loaded_models()
    device = loaded[0]["device"] if loaded else studio.device if resolved else "…"
    if loaded:
        models = ", ".join(f"{m['kind']} `{m['name']}` ({m['bytes'] / 1e6:,.0f} MB)" for m in loaded)
    else:
        models = "none yet (each loads on first use)"
    return f"**Preset** `{studio.preset.name}` · **device** `{device}` · **loaded** {models}"


def header(studio) -> gr.Markdown:
    """The header row; returns its status line, which the app refreshes when a page loads."""
    with gr.Row(equal_height=True):
        status = gr.Markdown(status_text(studio, resolved=False))
        unload = gr.Button(t("hdr_unload"), size="sm", scale=0, min_width=160)
    # A cheap read of the cache every few seconds, outside the generation queue.
    gr.Timer(4).tick(lambda: status_text(studio), None, status, queue=False, api_visibility="private", show_progress="hidden")

    @guard
    def unload_models():
        studio.unload()
        return status_text(studio)

    unload.click(unload_models, None, status, queue=False, api_visibility="private")
    return status

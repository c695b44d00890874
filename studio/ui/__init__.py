"""The Gradio UI: one module per tab group, each turning inputs into `Studio` calls.

`build_app(studio)` returns the `gr.Blocks`; nothing here loads a model. Every
event that runs a model shares one concurrency group ("device"), so generations
queue instead of fighting over the accelerator.
"""

from __future__ import annotations

import gradio as gr

from studio.ui import (
    audio_tabs,
    examples,
    fields,
    header,
    history,
    image_extras,
    image_tabs,
    image_tools,
    inpaint_tab,
    model_picker,
    send_to,
    text_tabs,
    xy_fields,
)
from studio.ui.i18n import translations
from studio.ui.inputs import Blocks

TITLE = "Studio"


def build_app(studio, *, concurrency_limit: int = 1) -> gr.Blocks:
    gpu = {"concurrency_id": "device", "concurrency_limit": concurrency_limit}
    with Blocks(title=TITLE, folders=lambda: [studio.outputs, examples.FOLDER]) as app:
        gr.Markdown(f"# {TITLE}\n{studio.preset.description}")
        status = header.header(studio)
        with gr.Tabs() as tabs:
            parts = _flatten([
                text_tabs.chat_tab(studio, gpu),
                text_tabs.text_to_text_tab(studio, gpu),
                image_tabs.text_to_image_tab(studio, gpu),
                image_tabs.image_to_image_tab(studio, gpu),
                audio_tabs.text_to_speech_tab(studio, gpu),
                audio_tabs.speech_to_text_tab(studio, gpu),
                audio_tabs.text_to_music_tab(studio, gpu),
                audio_tabs.audio_to_audio_tab(studio, gpu),
            ])
            history.history_tab(studio, parts, tabs)
        send_to.wire(parts, tabs)
        # The device "auto" stands for, named as soon as the page shows.
        app.load(lambda: header.status_text(studio), None, status, queue=False, api_visibility="private",
                 show_progress="hidden")
    return app


def _flatten(items: list) -> list:
    """Tab functions return one TabParts or a list of them (a tab with sub-tabs)."""
    return [part for item in items for part in (item if isinstance(item, list) else [item])]


def head() -> str:
    """The page's script (Ctrl+Enter, translated example headers), for `launch(head=...)`."""
    from studio.ui import page

    return page.head(labels())


def labels() -> gr.I18n:
    """The English and French labels of every tab, for `launch(i18n=...)`."""
    return translations(fields.texts(), header.TEXTS, text_tabs.TEXTS, image_tabs.TEXTS, image_tools.TEXTS, inpaint_tab.TEXTS,
                        image_extras.TEXTS, audio_tabs.TEXTS, history.TEXTS, model_picker.TEXTS,
                        send_to.TEXTS, xy_fields.TEXTS)

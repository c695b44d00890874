""""Send to": a result of one tab becomes the input of another, and that tab opens.

Chat reply → image prompt or speech; transcript → chat or text → text; image →
image-to-image or upscale; music → audio → audio. The buttons are added under
the source's result, so each tab module stays about its own tab.
"""

from __future__ import annotations

import gradio as gr

from studio.ui.i18n import t
from studio.ui.parts import TabParts

TEXTS = {
    "send_image_prompt": ("→ Text → Image prompt", "→ description d'image"),
    "send_speech": ("→ Text → Speech", "→ synthèse vocale"),
    "send_chat": ("→ Chat", "→ agent conversationnel"),
    "send_text": ("→ Text → Text", "→ texte à partir de texte"),
    "send_img2img": ("→ Image → Image", "→ image à partir d'image"),
    "send_upscale": ("→ Upscale", "→ agrandir"),
    "send_inpaint": ("→ Inpaint", "→ retouche"),
    "send_outpaint": ("→ Outpaint", "→ agrandir le cadre"),
    "send_a2a": ("→ Audio → Audio", "→ audio à partir d'audio"),
}
# (source task, its output, target task, its input, label)
ROUTES = [
    ("chat", "conversation", "text_to_image", "prompt", "send_image_prompt"),
    ("chat", "conversation", "text_to_speech", "text", "send_speech"),
    ("speech_to_text", "text", "chat", "message", "send_chat"),
    ("speech_to_text", "text", "text_to_text", "text", "send_text"),
    ("text_to_image", "gallery", "image_to_image", "image", "send_img2img"),
    ("text_to_image", "gallery", "upscale", "image", "send_upscale"),
    ("text_to_image", "gallery", "inpaint", "image", "send_inpaint"),
    ("text_to_image", "gallery", "outpaint", "image", "send_outpaint"),
    ("image_to_image", "gallery", "inpaint", "image", "send_inpaint"),
    ("inpaint", "gallery", "inpaint", "image", "send_inpaint"),
    ("inpaint", "gallery", "outpaint", "image", "send_outpaint"),
    ("outpaint", "gallery", "inpaint", "image", "send_inpaint"),
    ("inpaint", "gallery", "upscale", "image", "send_upscale"),
    ("outpaint", "gallery", "upscale", "image", "send_upscale"),
    ("image_to_image", "gallery", "upscale", "image", "send_upscale"),
    ("text_to_music", "audio", "continue_music", "audio", "send_a2a"),
]


def _last_reply(conversation) -> str:
    replies = [m.get("content", "") for m in conversation or [] if m.get("role") == "assistant"]
    if not replies:
        raise gr.Error("there is no reply to send yet")
    return replies[-1]


def _gallery_image(gallery, selected: int) -> str:
    if not gallery:
        raise gr.Error("there is no image to send yet")
    item = gallery[min(selected, len(gallery) - 1)]
    return item[0] if isinstance(item, (list, tuple)) else item


def _value(value):
    if value in (None, ""):
        raise gr.Error("there is nothing to send yet")
    return value


def _selected_index(event: gr.SelectData) -> int:
    return event.index


def wire(parts: list[TabParts], tabs: gr.Tabs) -> None:
    by_task = {task: part for part in parts for task in part.tasks}
    rows: dict[int, gr.Row] = {}
    selected: dict[int, gr.State] = {}
    for source_task, output_name, target_task, input_name, label in ROUTES:
        source, target = by_task.get(source_task), by_task.get(target_task)
        if source is None or target is None or output_name not in source.outputs or input_name not in target.inputs:
            continue
        component = source.outputs[output_name]
        if id(component) not in rows:
            with component.parent:  # a row of buttons right under the result
                rows[id(component)] = gr.Row()
            if output_name == "gallery":
                selected[id(component)] = gr.State(0)
                component.select(_selected_index, None, selected[id(component)], queue=False, api_visibility="private")
        with rows[id(component)]:
            button = gr.Button(t(label), size="sm")
        if output_name == "gallery":
            inputs, convert = [component, selected[id(component)]], _gallery_image
        elif output_name == "conversation":
            inputs, convert = [component], _last_reply
        else:
            inputs, convert = [component], _value
        button.click(lambda *values, convert=convert, tab=target.id: (convert(*values), gr.Tabs(selected=tab)),
                     inputs, [target.inputs[input_name], tabs], queue=False, api_visibility="private")

"""The Image → Image tab's Inpaint and Outpaint sub-tabs: paint a mask, redraw it; extend the canvas.

The mask editor is a `gr.ImageEditor`: the uploaded image is its background and
what is painted over it (any colour) is the mask. A mask file can be uploaded
instead; it wins over the painting.
"""

from __future__ import annotations

import gradio as gr
import numpy as np
from PIL import Image as PILImage

from studio.ui.errors import guard
from studio.ui.fields import Image, spread, widget, widgets
from studio.ui.i18n import t
from studio.ui.image_tabs import _outputs, _reuse_seed, _settings
from studio.ui.parts import TabParts
from studio.ui.streaming import stream_images
from studio.ui.zerogpu import gpu_task

TEXTS = {
    "inp_tab": ("Inpaint", "Retouche (inpainting)"),
    "inp_editor": ("Image: paint over the part to redraw", "Image : peignez la partie à redessiner"),
    "inp_mask_file": ("Or upload a mask (white = redraw)", "Ou chargez un masque (blanc = redessiner)"),
    "inp_run": ("Inpaint", "Retoucher"),
    "inp_mask_used": ("Mask", "Masque"),
    "out_tab": ("Outpaint", "Agrandir le cadre (outpainting)"),
    "out_run": ("Outpaint", "Agrandir"),
}


def painted_mask(editor) -> PILImage.Image | None:
    """The union of the editor's painted layers as a white-on-black mask, or None when nothing is painted."""
    layers = [layer for layer in (editor or {}).get("layers") or [] if layer is not None]
    if not layers:
        return None
    alpha = np.zeros(layers[0].size[::-1], dtype=np.uint8)
    for layer in layers:
        if layer.size == layers[0].size:
            alpha = np.maximum(alpha, np.asarray(layer.convert("RGBA"))[..., 3])
    return PILImage.fromarray(np.where(alpha > 0, 255, 0).astype(np.uint8)) if alpha.any() else None


def _background(editor):
    return (editor or {}).get("background") if isinstance(editor, dict) else editor


def _stream(studio, operation, *args, **settings):
    """Run one operation, yielding step previews, then the images, the mask used and the recipe."""
    def finish(value, frames):
        paths = [str(p) for p in studio.save(value)]
        return paths[: len(value.images)], frames, value.params, value.mask

    settings.update({side: settings[side] or None for side in ("width", "height") if side in settings})  # 0: the image's
    yield from stream_images(lambda on_step: operation(*args, callback=on_step, **settings), 4, finish)


def inpaint_section(studio, gpu: dict) -> list[TabParts]:
    declared, out_declared = studio.settings("inpaint"), studio.settings("outpaint")
    with gr.Tab(t("inp_tab"), id="inpaint"), gr.Row():
        with gr.Column(scale=1):
            editor = gr.ImageEditor(label=t("inp_editor"), type="pil", sources=["upload", "clipboard"], layers=False,
                                    brush=gr.Brush(colors=["#ffffff"], color_mode="fixed"), transforms=())
            mask_file = Image(label=t("inp_mask_file"), type="pil", image_mode=None, sources=["upload", "clipboard"])
            prompt = gr.Textbox(label=t("img_prompt"), value="", lines=2, placeholder="a red fox sitting")
            own = {"negative_prompt": widget(declared["negative_prompt"])}
            with gr.Row():
                own.update(widgets(declared, ["mask_blur", "strength"]))
            with gr.Row():
                own.update(widgets(declared, ["inpaint_area", "padding", "mask_mode"],
                                   inpaint_area={"radio": True}, mask_mode={"radio": True}))
            run = gr.Button(t("inp_run"), variant="primary")
            settings, reuse = _settings(studio, declared)
        gallery, previews, recipe = _outputs()
        with gallery.parent:
            mask_used = gr.Image(label=t("inp_mask_used"), format="png", height=160)

    with gr.Tab(t("out_tab"), id="outpaint"), gr.Row():
        with gr.Column(scale=1):
            out_image = Image(label=t("img_image"), type="pil", image_mode=None, sources=["upload", "clipboard"])
            out_prompt = gr.Textbox(label=t("img_prompt"), value="", lines=2, placeholder="a wide mountain landscape")
            out_own = {"negative_prompt": widget(out_declared["negative_prompt"])}
            with gr.Row():
                out_own.update(widgets(out_declared, ["left", "right", "up", "down"]))
            with gr.Row():
                out_own.update(widgets(out_declared, ["fill", "mask_blur", "strength"], fill={"radio": True}))
            out_run = gr.Button(t("out_run"), variant="primary")
            out_settings, out_reuse = _settings(studio, out_declared)  # its size (the image's plus the sides) hidden
        out_gallery, out_previews, out_recipe = _outputs()
        with out_gallery.parent:
            out_mask = gr.Image(label=t("inp_mask_used"), format="png", height=160)
    # In the order of the endpoints' parameters.
    fields = {name: own[name] for name in ("negative_prompt", "mask_blur", "inpaint_area", "padding", "mask_mode",
                                           "strength")} | settings
    out_fields = {name: out_own[name] for name in ("negative_prompt", "left", "right", "up", "down", "fill",
                                                   "mask_blur", "strength")} | out_settings

    @guard
    @gpu_task("inpaint")
    @spread(fields)
    def inpaint(image, mask, prompt, settings, progress=gr.Progress(track_tqdm=True)):
        mask = mask if mask is not None else painted_mask(image)
        if mask is None:
            raise ValueError("mask is missing: paint over the part of the image to redraw, or upload a mask")
        yield from _stream(studio, studio.inpaint, _background(image), mask, prompt, **settings)

    @guard
    @gpu_task("outpaint")
    @spread(out_fields)
    def outpaint(image, prompt, settings, progress=gr.Progress(track_tqdm=True)):
        taken = {k: v for k, v in settings.items() if k in out_declared}  # not the hidden size
        yield from _stream(studio, studio.outpaint, image, prompt, **taken)

    inputs = [editor, mask_file, prompt, *fields.values()]
    run.click(inpaint, inputs, [gallery, previews, recipe, mask_used], api_name="inpaint", **gpu)
    out_inputs = [out_image, out_prompt, *out_fields.values()]
    out_run.click(outpaint, out_inputs, [out_gallery, out_previews, out_recipe, out_mask], api_name="outpaint", **gpu)
    for button, recipe_box, seed in ((reuse, recipe, settings["seed"]), (out_reuse, out_recipe, out_settings["seed"])):
        button.click(_reuse_seed, recipe_box, seed, queue=False, api_visibility="private")
    return [
        TabParts("image_to_image", ("inpaint",), {"image": editor, "mask": mask_file, "prompt": prompt, **fields},
                 {"gallery": gallery}),
        TabParts("image_to_image", ("outpaint",), {"image": out_image, "prompt": out_prompt, **out_fields},
                 {"gallery": out_gallery}),
    ]

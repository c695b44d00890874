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
from studio.ui.fields import Image, Number, Radio, Slider, default
from studio.ui.i18n import t
from studio.ui.image_tabs import _outputs, _reuse_seed, _settings
from studio.ui.parts import TabParts
from studio.ui.streaming import stream_images
from studio.ui.zerogpu import gpu_task

TEXTS = {
    "inp_tab": ("Inpaint", "Retouche (inpainting)"),
    "inp_editor": ("Image: paint over the part to redraw", "Image : peignez la partie à redessiner"),
    "inp_mask_file": ("Or upload a mask (white = redraw)", "Ou chargez un masque (blanc = redessiner)"),
    "inp_mask_blur": ("Mask blur (pixels)", "Flou du masque (pixels)"),
    "inp_area": ("Inpaint area", "Zone redessinée"),
    "inp_padding": ("Only masked: padding (pixels)", "Zone masquée seule : marge (pixels)"),
    "inp_mode": ("Redraw", "Redessiner"),
    "inp_strength": ("Denoising strength", "Force de débruitage"),
    "inp_run": ("Inpaint", "Retoucher"),
    "inp_mask_used": ("Mask", "Masque"),
    "out_tab": ("Outpaint", "Agrandir le cadre (outpainting)"),
    "out_left": ("Left (pixels)", "Gauche (pixels)"),
    "out_right": ("Right (pixels)", "Droite (pixels)"),
    "out_up": ("Up (pixels)", "Haut (pixels)"),
    "out_down": ("Down (pixels)", "Bas (pixels)"),
    "out_fill": ("Fill of the new parts before the redraw", "Remplissage des parties neuves avant de redessiner"),
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

    yield from stream_images(lambda on_step: operation(*args, callback=on_step, **settings), 4, finish)


def inpaint_section(studio, gpu: dict) -> list[TabParts]:
    from pipelines.inpaint import FILLS, INPAINT_AREAS, MASK_MODES, Inpaint

    call, out = Inpaint.__call__, Inpaint.outpaint
    with gr.Tab(t("inp_tab"), id="inpaint"), gr.Row():
        with gr.Column(scale=1):
            editor = gr.ImageEditor(label=t("inp_editor"), type="pil", sources=["upload", "clipboard"], layers=False,
                                    brush=gr.Brush(colors=["#ffffff"], color_mode="fixed"), transforms=())
            mask_file = Image(label=t("inp_mask_file"), type="pil", image_mode=None, sources=["upload", "clipboard"])
            prompt = gr.Textbox(label=t("img_prompt"), value="", lines=2, placeholder="a red fox sitting")
            negative_prompt = gr.Textbox(label=t("img_negative"), value="")
            with gr.Row():
                mask_blur = Slider(0, 64, step=1, value=default(studio, "image", call, "mask_blur"), label=t("inp_mask_blur"))
                strength = Slider(0.05, 1.0, step=0.05, value=default(studio, "image", call, "strength"), label=t("inp_strength"))
            with gr.Row():
                area = Radio(list(INPAINT_AREAS), value=default(studio, "image", call, "inpaint_area"), label=t("inp_area"))
                padding = Slider(0, 256, step=4, value=default(studio, "image", call, "padding"), label=t("inp_padding"))
                mode = Radio(list(MASK_MODES), value=default(studio, "image", call, "mask_mode"), label=t("inp_mode"))
            run = gr.Button(t("inp_run"), variant="primary")
            settings, reuse = _settings(studio, call, img2img=True)
        gallery, previews, recipe = _outputs()
        with gallery.parent:
            mask_used = gr.Image(label=t("inp_mask_used"), format="png", height=160)

    with gr.Tab(t("out_tab"), id="outpaint"), gr.Row():
        with gr.Column(scale=1):
            out_image = Image(label=t("img_image"), type="pil", image_mode=None, sources=["upload", "clipboard"])
            out_prompt = gr.Textbox(label=t("img_prompt"), value="", lines=2, placeholder="a wide mountain landscape")
            out_negative = gr.Textbox(label=t("img_negative"), value="")
            with gr.Row():
                sides = [Number(value=default(studio, "image", out, side), precision=0, label=t(f"out_{side}"))
                         for side in ("left", "right", "up", "down")]
            with gr.Row():
                fill = Radio(list(FILLS), value=default(studio, "image", out, "fill"), label=t("out_fill"))
                out_blur = Slider(0, 64, step=1, value=default(studio, "image", out, "mask_blur"), label=t("inp_mask_blur"))
                out_strength = Slider(0.05, 1.0, step=0.05, value=default(studio, "image", out, "strength"),
                                      label=t("inp_strength"))
            out_run = gr.Button(t("out_run"), variant="primary")
            out_settings, out_reuse = _settings(studio, out, img2img=True)
            for size in out_settings[2:4]:  # an outpaint's size is the image's plus the sides
                size.visible = False
        out_gallery, out_previews, out_recipe = _outputs()
        with out_gallery.parent:
            out_mask = gr.Image(label=t("inp_mask_used"), format="png", height=160)

    @guard
    @gpu_task(120)
    def inpaint(image, mask, prompt, negative_prompt, mask_blur, inpaint_area, padding, mask_mode, strength, steps,
                guidance, width, height, seed, batch_size, scheduler, preview_every, progress=gr.Progress(track_tqdm=True)):
        mask = mask if mask is not None else painted_mask(image)
        if mask is None:
            raise ValueError("mask is missing: paint over the part of the image to redraw, or upload a mask")
        yield from _stream(studio, studio.inpaint, _background(image), mask, prompt, negative_prompt=negative_prompt,
                           mask_blur=mask_blur, inpaint_area=inpaint_area, padding=padding, mask_mode=mask_mode,
                           strength=strength, steps=steps, guidance=guidance, width=width or None,
                           height=height or None, seed=seed, batch_size=batch_size, scheduler=scheduler,
                           preview_every=preview_every)

    @guard
    @gpu_task(120)
    def outpaint(image, prompt, negative_prompt, left, right, up, down, fill, mask_blur, strength, steps, guidance,
                 width, height, seed, batch_size, scheduler, preview_every, progress=gr.Progress(track_tqdm=True)):
        yield from _stream(studio, studio.outpaint, image, prompt, negative_prompt=negative_prompt, left=left,
                           right=right, up=up, down=down, fill=fill, mask_blur=mask_blur, strength=strength,
                           steps=steps, guidance=guidance, seed=seed, batch_size=batch_size, scheduler=scheduler,
                           preview_every=preview_every)

    inputs = [editor, mask_file, prompt, negative_prompt, mask_blur, area, padding, mode, strength, *settings]
    run.click(inpaint, inputs, [gallery, previews, recipe, mask_used], api_name="inpaint", **gpu)
    out_inputs = [out_image, out_prompt, out_negative, *sides, fill, out_blur, out_strength, *out_settings]
    out_run.click(outpaint, out_inputs, [out_gallery, out_previews, out_recipe, out_mask], api_name="outpaint", **gpu)
    for button, recipe_box, seed in ((reuse, recipe, settings[4]), (out_reuse, out_recipe, out_settings[4])):
        button.click(_reuse_seed, recipe_box, seed, queue=False, api_visibility="private")
    shared = ["steps", "guidance", "width", "height", "seed", "batch_size", "scheduler", "preview_every"]
    names = ["image", "mask", "prompt", "negative_prompt", "mask_blur", "inpaint_area", "padding", "mask_mode",
             "strength", *shared]
    out_names = ["image", "prompt", "negative_prompt", "left", "right", "up", "down", "fill", "mask_blur", "strength",
                 *shared]
    return [
        TabParts("image_to_image", ("inpaint",), dict(zip(names, inputs, strict=True)), {"gallery": gallery}),
        TabParts("image_to_image", ("outpaint",), dict(zip(out_names, out_inputs, strict=True)), {"gallery": out_gallery}),
    ]

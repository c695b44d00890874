"""The Image → Image tab's tools: upscaling, and a VAE's latent space shown."""

from __future__ import annotations

import gradio as gr

from studio.ui import examples
from studio.ui.errors import guard
from studio.ui.fields import Image, spread, widgets
from studio.ui.i18n import t
from studio.ui.model_picker import client_model, model_dropdown
from studio.ui.parts import TabParts
from studio.ui.zerogpu import gpu_task

TEXTS = {
    "up_tab": ("Upscale", "Agrandir"),
    "up_image": ("Image", "Image"),
    "up_run": ("Upscale", "Agrandir"),
    "up_result": ("Upscaled", "Agrandie"),
    "up_recipe": ("Recipe", "Recette"),
    "lat_tab": ("Latent space (VAE)", "Espace latent (VAE)"),
    "lat_intro": (
        "Stable Diffusion draws in a compressed *latent* space: its VAE turns an image into a few channels "
        "8 times smaller a side, and back. Encode an image to see those channels and what survives the round trip.",
        "Stable Diffusion dessine dans un espace *latent* compressé : son VAE transforme une image en quelques "
        "canaux 8 fois plus petits de côté, puis la reconstruit. Encodez une image pour voir ces canaux et ce "
        "que l'aller-retour conserve.",
    ),
    "lat_image": ("Image", "Image"),
    "lat_run": ("Encode and decode", "Encoder et décoder"),
    "lat_channels": ("Latent channels", "Canaux latents"),
    "lat_reconstruction": ("Decoded back", "Image reconstruite"),
    "lat_report": ("Compression", "Compression"),
}


def upscale_section(studio, gpu: dict) -> TabParts:
    settings = studio.settings("upscale")
    with gr.Tab(t("up_tab"), id="upscale"), gr.Row():
        with gr.Column():
            image = Image(label=t("up_image"), type="pil", image_mode=None, sources=["upload", "clipboard"])
            fields = widgets(settings, settings.names(), scale={"radio": True}, tile={"maximum": 1024})
            model = model_dropdown(studio, "upscale")
            run = gr.Button(t("up_run"), variant="primary")
            gr.Examples([[examples.landscape()]], inputs=[image])
        with gr.Column():
            result = gr.Image(label=t("up_result"), type="filepath", format="png")
            recipe = gr.JSON(label=t("up_recipe"), open=False)

    @guard
    @gpu_task("upscale")
    @spread(fields)
    def upscale(image, settings, model=None, progress=gr.Progress()):
        progress(0.1, desc="upscaling")
        output = studio.upscale(image, **settings, model=client_model(model))
        return str(studio.save(output)[0]), output.params

    run.click(upscale, [image, *fields.values(), model], [result, recipe], api_name="upscale", **gpu)
    return TabParts("image_to_image", ("upscale",), {"image": image, **fields, "model": model}, {"image": result})


def latent_section(studio, gpu: dict) -> None:
    with gr.Tab(t("lat_tab"), id="latents"):
        gr.Markdown(t("lat_intro"))
        with gr.Row():
            with gr.Column():
                image = Image(label=t("lat_image"), type="pil", image_mode=None, sources=["upload", "clipboard"])
                run = gr.Button(t("lat_run"), variant="primary")
                gr.Examples([[examples.landscape()]], inputs=[image])
            with gr.Column():
                reconstruction = gr.Image(label=t("lat_reconstruction"), format="png")
                report = gr.Markdown()
        channels = gr.Gallery(label=t("lat_channels"), columns=4, height="auto")

    @guard
    @gpu_task("vae_latents")
    def vae_latents(image, progress=gr.Progress()):
        progress(0.1, desc="encoding")
        view = studio.vae_latents(image)
        c, h, w = view.latent_shape
        width, height = view.params["width"], view.params["height"]
        text = (f"**{width}×{height}×3 = {width * height * 3:,}** numbers → latents **{c}×{h}×{w} = {c * h * w:,}**: "
                f"**{view.compression:.0f}×** smaller. Reconstruction PSNR: **{view.psnr:.1f} dB**.")
        return [(image, f"channel {i + 1}") for i, image in enumerate(view.channels)], view.reconstruction, text

    run.click(vae_latents, [image], [channels, reconstruction, report], api_name="vae_latents", **gpu)

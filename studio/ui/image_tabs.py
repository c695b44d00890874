"""Text → Image and Image → Image tabs: prompt, settings, gallery, step previews, recipe."""

from __future__ import annotations

import gradio as gr

from studio.ui import examples, image_extras, xy_fields
from studio.ui.errors import guard
from studio.ui.fields import Image, Number, Slider, default, follow_model
from studio.ui.i18n import t
from studio.ui.model_picker import client_model, lora_choice, lora_chooser, model_dropdown
from studio.ui.parts import TabParts
from studio.ui.streaming import stream_images, waiting
from studio.ui.zerogpu import gpu_task

TEXTS = {
    "tab_t2i": ("Text → Image", "Images à partir de texte"),
    "tab_i2i": ("Image → Image", "Image à partir d'image"),
    "img_prompt": ("Prompt", "Description (prompt)"),
    "img_negative": ("Negative prompt", "Prompt négatif"),
    "img_generate": ("Generate", "Générer"),
    "img_steps": ("Steps", "Étapes"),
    "img_guidance": ("Guidance (CFG scale)", "Guidage (CFG)"),
    "img_width_t2i": ("Width (0 = the model's native size)", "Largeur (0 = taille native du modèle)"),
    "img_height_t2i": ("Height (0 = the model's native size)", "Hauteur (0 = taille native du modèle)"),
    "img_width_i2i": ("Width (0 = the input image's size)", "Largeur (0 = taille de l'image d'entrée)"),
    "img_height_i2i": ("Height (0 = the input image's size)", "Hauteur (0 = taille de l'image d'entrée)"),
    "img_seed": ("Seed (-1 = random)", "Graine (-1 = aléatoire)"),
    "img_batch": ("Batch size", "Nombre d'images"),
    "img_sampler": ("Sampler", "Échantillonneur"),
    "img_preview_every": ("Show every Nth step (0 = off): noise turning into an image",
                          "Montrer une étape sur N (0 = non) : le bruit devient une image"),
    "img_more": ("More", "Plus"),
    "img_seed_random": ("Random", "Aléatoire"),
    "img_seed_reuse": ("Reuse last", "Reprendre"),
    "img_stop": ("Stop", "Arrêter"),
    "img_images": ("Images", "Images"),
    "img_steps_strip": ("Steps", "Étapes"),
    "img_recipe": ("Recipe", "Recette"),
    "img_image": ("Image", "Image"),
    "img_strength": ("Strength (how much of the image is redrawn)", "Force (part de l'image redessinée)"),
    "img_redraw": ("Redraw", "Redessiner"),
}


def _settings(studio, call, *, img2img: bool):
    """The main settings, in view beside the prompt as creators expect them; returns them in API order."""
    from pipelines.image import MAX_BATCH, MAX_GUIDANCE, MAX_SIZE, MAX_STEPS, SCHEDULERS

    size = "i2i" if img2img else "t2i"
    with gr.Row():
        width = Slider(0, MAX_SIZE, step=8, value=0, label=t(f"img_width_{size}"))
        height = Slider(0, MAX_SIZE, step=8, value=0, label=t(f"img_height_{size}"))
    with gr.Row():
        steps = Slider(1, MAX_STEPS, step=1, value=default(studio, "image", call, "steps"), label=t("img_steps"))
        guidance = Slider(0, MAX_GUIDANCE, step=0.5, value=default(studio, "image", call, "guidance"), label=t("img_guidance"))
    with gr.Row():
        scheduler = gr.Dropdown(["default", *SCHEDULERS], value="default", label=t("img_sampler"), allow_custom_value=True)
        batch_size = Slider(1, MAX_BATCH, step=1, value=default(studio, "image", call, "batch_size"), label=t("img_batch"))
    with gr.Row(equal_height=True):
        seed = Number(value=-1, precision=0, label=t("img_seed"), scale=4, elem_classes="seed-number")
        random_seed = gr.Button(t("img_seed_random"), size="sm", scale=1, min_width=80, elem_classes="seed-random")
        reuse_seed = gr.Button(t("img_seed_reuse"), size="sm", scale=1, min_width=80, elem_classes="seed-reuse")
    with gr.Accordion(t("img_more"), open=False):
        preview_every = Slider(0, MAX_STEPS, step=1, value=preview_default(studio, call), label=t("img_preview_every"))
    random_seed.click(lambda: -1, None, seed, queue=False, api_visibility="private")
    return [steps, guidance, width, height, seed, batch_size, scheduler, preview_every], reuse_seed


def preview_default(studio, call) -> int:
    """Step previews the UI asks for: the studio's default where it has one (previews on where cheap),
    else about eight frames over the default steps, so the strip shows the noise turning into an image."""
    chosen = default(studio, "image", call, "preview_every")
    return chosen or max(1, int(default(studio, "image", call, "steps") or 8) // 8)


def _reuse_seed(recipe):
    if not recipe or "seed" not in recipe:
        raise gr.Error("there is no image yet whose seed to reuse")
    return recipe["seed"]


def _controls(generate: str):
    """Generate and Stop, side by side."""
    with gr.Row():
        run = gr.Button(t(generate), variant="primary", scale=3)
        stop = gr.Button(t("img_stop"), variant="stop", scale=1)
    return run, stop


def _wire(run, stop, reuse, handler, inputs, outputs, gpu, *, api_name, seed, submit=None):
    """Generate (button, Enter, Ctrl+Enter), Stop (cancels at the next step), reuse the last seed."""
    events = [run.click(handler, inputs, outputs, api_name=api_name, **gpu)]
    if submit is not None:
        events.append(submit.submit(handler, inputs, outputs, api_visibility="private", **gpu))
    stop.click(None, None, None, cancels=events, queue=False, api_visibility="private")
    reuse.click(_reuse_seed, outputs[2], seed, queue=False, api_visibility="private")


def _stream(studio, operation, *args, **settings):
    """Run one image operation, yielding step previews, then the saved images and recipe."""
    settings["width"] = settings["width"] or None
    settings["height"] = settings["height"] or None
    yield from stream_images(lambda on_step: operation(*args, callback=on_step, **settings), 3,
                             lambda value, frames: ([str(p) for p in studio.save(value)], frames, value.params))


def _outputs():
    with gr.Column(scale=1):
        gallery = gr.Gallery(label=t("img_images"), format="png", columns=2, height="auto")
        previews = gr.Gallery(label=t("img_steps_strip"), columns=8, rows=1, height="auto", elem_classes="step-strip")
        recipe = gr.JSON(label=t("img_recipe"), open=False)
    return [gallery, previews, recipe]


def text_to_image_tab(studio, gpu: dict) -> TabParts:
    from pipelines.image import TextToImage

    with gr.Tab(t("tab_t2i"), id="text_to_image"):
        with gr.Row():
            with gr.Column(scale=1):
                prompt = gr.Textbox(label=t("img_prompt"), lines=3, placeholder="a red fox in the snow, watercolor")
                negative_prompt = gr.Textbox(label=t("img_negative"), value="", placeholder="blurry, low quality")
                model = model_dropdown(studio, "image")
                loras, lora_weight = lora_chooser(studio)
                run, stop = _controls("img_generate")
                settings, reuse = _settings(studio, TextToImage.__call__, img2img=False)
                hires = image_extras.hires_fields()
                control = image_extras.control_fields(studio)
                plot = xy_fields.fields()
            outputs = _outputs()
        gr.Examples([["a red fox in the snow, watercolor"], ["a lighthouse at dawn, oil painting"]], inputs=[prompt])

    @guard
    @gpu_task(120)
    def text_to_image(prompt, negative_prompt, steps, guidance, width, height, seed, batch_size, scheduler, preview_every,
                      model=None, loras=None, lora_weight=0.8,
                      hires_on=False, hires_scale=2.0, hires_steps=0, hires_strength=0.7, hires_upscaler="latent",
                      control_model=None, control_image=None, control_preprocessor="canny", control_scale=1.0,
                      control_start=0.0, control_end=1.0, progress=gr.Progress(track_tqdm=True)):
        hires_fix = image_extras.hires_value(hires_on, hires_scale, hires_steps, hires_strength, hires_upscaler)
        guide = image_extras.control_value(control_model, control_image, control_preprocessor, control_scale,
                                           control_start, control_end)
        yield from _stream(studio, studio.text_to_image, prompt, negative_prompt=negative_prompt, steps=steps,
                           guidance=guidance, width=width, height=height, seed=seed, batch_size=batch_size,
                           scheduler=scheduler, preview_every=preview_every, model=client_model(model),
                           loras=lora_choice(loras, lora_weight), hires=hires_fix, control=guide)

    @guard
    @gpu_task(600)
    def xy_plot(prompt, negative_prompt, steps, guidance, width, height, seed, batch_size, scheduler, preview_every,
                model=None, loras=None, lora_weight=0.8, x_setting="steps", x_values="10, 20, 30", y_setting="none",
                y_values="", progress=gr.Progress(track_tqdm=True)):
        """The grid first, then every cell, each saved with its own recipe (batch_size and previews do not apply)."""
        axes = xy_fields.axes(x_setting, x_values, y_setting, y_values)
        result = yield from waiting(lambda stop: studio.xy_plot(
            "text_to_image", **axes, prompt=prompt, negative_prompt=negative_prompt, steps=steps, guidance=guidance,
            width=width or None, height=height or None, seed=seed, scheduler=scheduler, model=client_model(model),
            loras=lora_choice(loras, lora_weight), stop=stop), 3)
        yield [str(p) for p in studio.save(result)], [], result.params

    follow_model(studio, "text_to_image", model, {"steps": settings[0], "guidance": settings[1]})
    inputs = [prompt, negative_prompt, *settings, model, loras, lora_weight, *hires.values(), *control.values()]
    _wire(run, stop, reuse, text_to_image, inputs, outputs, gpu, api_name="text_to_image", seed=settings[4],
          submit=prompt)
    plotting = plot["run"].click(xy_plot, [prompt, negative_prompt, *settings, model, loras, lora_weight,
                                           *(plot[k] for k in ("x_setting", "x_values", "y_setting", "y_values"))],
                                 outputs, api_name="xy_plot", **gpu)
    stop.click(None, None, None, cancels=[plotting], queue=False, api_visibility="private")
    axes = {f"xy.{name}": plot[name] for name in ("x_setting", "x_values", "y_setting", "y_values")}
    return TabParts("text_to_image", ("text_to_image",),
                    {**_named(inputs, ["prompt", "negative_prompt", *SETTINGS, *PICKED, *hires, *control]), **axes},
                    {"gallery": outputs[0]})


def image_to_image_tab(studio, gpu: dict) -> list[TabParts]:
    """Redraw an image (img2img), plus the upscaling and latent-space tools in sub-tabs."""
    from pipelines.image import ImageToImage
    from studio.ui import image_tools, inpaint_tab

    with gr.Tab(t("tab_i2i"), id="image_to_image"), gr.Tabs():
        with gr.Tab(t("img_redraw"), id="redraw"), gr.Row():
            with gr.Column(scale=1):
                image = Image(label=t("img_image"), type="pil", image_mode=None, sources=["upload", "clipboard"])
                prompt = gr.Textbox(label=t("img_prompt"), value="", lines=2, placeholder="a watercolor fox")
                negative_prompt = gr.Textbox(label=t("img_negative"), value="")
                model = model_dropdown(studio, "image")
                loras, lora_weight = lora_chooser(studio)
                strength = Slider(0.05, 1.0, step=0.05, value=default(studio, "image", ImageToImage.__call__, "strength"),
                                  label=t("img_strength"))
                run, stop = _controls("img_generate")
                settings, reuse = _settings(studio, ImageToImage.__call__, img2img=True)
                control = image_extras.control_fields(studio)
                gr.Examples([[examples.landscape(), "a watercolor landscape at sunset"]], inputs=[image, prompt])
            outputs = _outputs()
        inpaint = inpaint_tab.inpaint_section(studio, gpu)
        upscale = image_tools.upscale_section(studio, gpu)
        image_tools.latent_section(studio, gpu)

    @guard
    @gpu_task(120)
    def image_to_image(image, prompt, negative_prompt, strength, steps, guidance, width, height, seed, batch_size,
                       scheduler, preview_every, model=None, loras=None, lora_weight=0.8,
                       control_model=None, control_image=None, control_preprocessor="canny",
                       control_scale=1.0, control_start=0.0, control_end=1.0, progress=gr.Progress(track_tqdm=True)):
        guide = image_extras.control_value(control_model, control_image, control_preprocessor, control_scale,
                                           control_start, control_end)
        yield from _stream(studio, studio.image_to_image, image, prompt, negative_prompt=negative_prompt,
                           strength=strength, steps=steps, guidance=guidance, width=width, height=height, seed=seed,
                           batch_size=batch_size, scheduler=scheduler, preview_every=preview_every,
                           model=client_model(model), loras=lora_choice(loras, lora_weight), control=guide)

    follow_model(studio, "image_to_image", model, {"steps": settings[0], "guidance": settings[1]})
    inputs = [image, prompt, negative_prompt, strength, *settings, model, loras, lora_weight, *control.values()]
    _wire(run, stop, reuse, image_to_image, inputs, outputs, gpu, api_name="image_to_image", seed=settings[4],
          submit=prompt)
    names = ["image", "prompt", "negative_prompt", "strength", *SETTINGS, *PICKED, *control]
    return [TabParts("image_to_image", ("image_to_image",), _named(inputs, names), {"gallery": outputs[0]}), *inpaint, upscale]


SETTINGS = ["steps", "guidance", "width", "height", "seed", "batch_size", "scheduler", "preview_every"]
PICKED = ["model", "lora_names", "lora_weight"]  # history restores the model; the LoRAs are not recipe keys


def _named(components: list, names: list[str]) -> dict:
    return dict(zip(names, components, strict=True))

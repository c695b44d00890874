"""Text → Image and Image → Image tabs: prompt, settings, gallery, step previews, recipe."""

from __future__ import annotations

import gradio as gr

from studio.ui import examples, image_extras, xy_fields
from studio.ui.errors import guard
from studio.ui.fields import Image, follow_model, spread, widget
from studio.ui.i18n import t
from studio.ui.model_picker import client_model, lora_choice, lora_chooser, model_dropdown
from studio.ui.parts import TabParts
from studio.ui.streaming import stream_images, waiting
from studio.ui.zerogpu import gpu_task

TEXTS = {
    "tab_t2i": ("Text → Image", "Images à partir de texte"),
    "tab_i2i": ("Image → Image", "Image à partir d'image"),
    "img_prompt": ("Prompt", "Description (prompt)"),
    "img_generate": ("Generate", "Générer"),
    "img_more": ("More", "Plus"),
    "img_seed_random": ("Random", "Aléatoire"),
    "img_seed_reuse": ("Reuse last", "Reprendre"),
    "img_stop": ("Stop", "Arrêter"),
    "img_images": ("Images", "Images"),
    "img_steps_strip": ("Steps", "Étapes"),
    "img_recipe": ("Recipe", "Recette"),
    "img_image": ("Image", "Image"),
    "img_redraw": ("Redraw", "Redessiner"),
}
PICKED = ["model", "lora_names", "lora_weight"]  # history restores the model; the LoRAs are not recipe keys
# In view beside the prompt, row by row (then the seed); an image tab's other shared settings go under "More".
ROWS = (("width", "height"), ("steps", "guidance"), ("scheduler", "batch_size"))
PLOTTED = {"steps", "guidance", "width", "height", "seed", "scheduler"}  # what an X/Y plot of the tab takes


def negative_prompt(settings) -> gr.Textbox:
    return widget(settings["negative_prompt"], placeholder="blurry, low quality")


def shared_names(studio) -> list[str]:
    """The settings every image tab shows below its own, in the order of the endpoints' parameters."""
    return [name for name in studio.settings("text_to_image").names() if name != "negative_prompt"]


def _settings(studio, settings) -> tuple[dict, gr.Button]:
    """The shared settings (`studio.settings(operation)`), beside the prompt as creators expect them;
    returns them by name in API order, and the seed's Reuse button. One the operation does not take
    (outpaint's size: the image's plus the sides) is there, hidden, so every endpoint takes the same."""
    names = shared_names(studio)
    declared = {name: settings[name] if name in settings else studio.settings("text_to_image")[name] for name in names}
    made = {}
    for row in ROWS:
        with gr.Row():
            for name in row:  # a size of 0: the model's (or the input's)
                made[name] = widget(declared[name], **({"value": 0} if declared[name].default is None else {}),
                                    **({"allow_custom_value": True} if declared[name].choices else {}))
    with gr.Row(equal_height=True):
        made["seed"] = widget(declared["seed"], value=-1, scale=4, elem_classes="seed-number")
        random_seed = gr.Button(t("img_seed_random"), size="sm", scale=1, min_width=80, elem_classes="seed-random")
        reuse_seed = gr.Button(t("img_seed_reuse"), size="sm", scale=1, min_width=80, elem_classes="seed-reuse")
    with gr.Accordion(t("img_more"), open=False):
        for name in names:
            if name not in made:  # the step previews: left to the studio (None), about eight frames
                made[name] = widget(declared[name], **({"value": _frames(settings)} if declared[name].default is None else {}))
    random_seed.click(lambda: -1, None, made["seed"], queue=False, api_visibility="private")
    for name in names:
        made[name].visible = made[name].visible and name in settings
    return {name: made[name] for name in names}, reuse_seed


def _frames(settings) -> int:
    """Step previews the UI asks for where the studio leaves them automatic (previews on where cheap):
    about eight frames over the default steps, so the strip shows the noise turning into an image."""
    return max(1, int(settings["steps"].default or 8) // 8)


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
    settings["width"] = settings.get("width") or None
    settings["height"] = settings.get("height") or None
    yield from stream_images(lambda on_step: operation(*args, callback=on_step, **settings), 3,
                             lambda value, frames: ([str(p) for p in studio.save(value)], frames, value.params))


def _outputs():
    with gr.Column(scale=1):
        gallery = gr.Gallery(label=t("img_images"), format="png", columns=2, height="auto")
        previews = gr.Gallery(label=t("img_steps_strip"), columns=8, rows=1, height="auto", elem_classes="step-strip")
        recipe = gr.JSON(label=t("img_recipe"), open=False)
    return [gallery, previews, recipe]


def text_to_image_tab(studio, gpu: dict) -> TabParts:
    declared = studio.settings("text_to_image")
    with gr.Tab(t("tab_t2i"), id="text_to_image"):
        with gr.Row():
            with gr.Column(scale=1):
                prompt = gr.Textbox(label=t("img_prompt"), lines=3, placeholder="a red fox in the snow, watercolor")
                negative = negative_prompt(declared)
                model = model_dropdown(studio, "image")
                loras, lora_weight = lora_chooser(studio)
                run, stop = _controls("img_generate")
                settings, reuse = _settings(studio, declared)
                hires = image_extras.hires_fields(studio)
                control = image_extras.control_fields(studio)
                plot = xy_fields.fields()
            outputs = _outputs()
        gr.Examples([["a red fox in the snow, watercolor"], ["a lighthouse at dawn, oil painting"]], inputs=[prompt])
    fields = {"negative_prompt": negative, **settings}

    @guard
    @gpu_task("text_to_image")
    @spread(fields)
    def text_to_image(prompt, settings, model=None, loras=None, lora_weight=0.8, hires_on=False, hires_scale=None,
                      hires_steps=None, hires_strength=None, hires_upscaler=None, control_model=None, control_image=None,
                      control_preprocessor=None, control_scale=None, control_start=None, control_end=None,
                      progress=gr.Progress(track_tqdm=True)):
        hires_fix = image_extras.hires_value(hires_on, hires_scale, hires_steps, hires_strength, hires_upscaler)
        guide = image_extras.control_value(control_model, control_image, control_preprocessor, control_scale,
                                           control_start, control_end)
        yield from _stream(studio, studio.text_to_image, prompt, **settings, model=client_model(model),
                           loras=lora_choice(loras, lora_weight), hires=hires_fix, control=guide)

    @guard
    @gpu_task("xy_plot")
    @spread(fields)
    def xy_plot(prompt, settings, model=None, loras=None, lora_weight=0.8, x_setting="steps", x_values="10, 20, 30",
                y_setting="none", y_values="", progress=gr.Progress(track_tqdm=True)):
        """The grid first, then every cell, each saved with its own recipe (batch_size and previews do not apply)."""
        axes = xy_fields.axes(x_setting, x_values, y_setting, y_values)
        fixed = {k: v for k, v in settings.items() if k in PLOTTED or k == "negative_prompt"}
        fixed.update(width=fixed["width"] or None, height=fixed["height"] or None)
        result = yield from waiting(lambda stop: studio.xy_plot(
            "text_to_image", **axes, prompt=prompt, **fixed, model=client_model(model),
            loras=lora_choice(loras, lora_weight), stop=stop), 3)
        yield [str(p) for p in studio.save(result)], [], result.params

    follow_model(studio, "text_to_image", model, {"steps": settings["steps"], "guidance": settings["guidance"]})
    inputs = [prompt, *fields.values(), model, loras, lora_weight, *hires.values(), *control.values()]
    _wire(run, stop, reuse, text_to_image, inputs, outputs, gpu, api_name="text_to_image", seed=settings["seed"],
          submit=prompt)
    plotting = plot["run"].click(xy_plot, [prompt, *fields.values(), model, loras, lora_weight,
                                           *(plot[k] for k in ("x_setting", "x_values", "y_setting", "y_values"))],
                                 outputs, api_name="xy_plot", **gpu)
    stop.click(None, None, None, cancels=[plotting], queue=False, api_visibility="private")
    axes = {f"xy.{name}": plot[name] for name in ("x_setting", "x_values", "y_setting", "y_values")}
    return TabParts("text_to_image", ("text_to_image",),
                    {**_named(inputs, ["prompt", *fields, *PICKED, *hires, *control]), **axes},
                    {"gallery": outputs[0]})


def image_to_image_tab(studio, gpu: dict) -> list[TabParts]:
    """Redraw an image (img2img), plus the upscaling and latent-space tools in sub-tabs."""
    from studio.ui import image_tools, inpaint_tab

    declared = studio.settings("image_to_image")
    with gr.Tab(t("tab_i2i"), id="image_to_image"), gr.Tabs():
        with gr.Tab(t("img_redraw"), id="redraw"), gr.Row():
            with gr.Column(scale=1):
                image = Image(label=t("img_image"), type="pil", image_mode=None, sources=["upload", "clipboard"])
                prompt = gr.Textbox(label=t("img_prompt"), value="", lines=2, placeholder="a watercolor fox")
                negative = widget(declared["negative_prompt"])
                model = model_dropdown(studio, "image")
                loras, lora_weight = lora_chooser(studio)
                strength = widget(declared["strength"])
                run, stop = _controls("img_generate")
                settings, reuse = _settings(studio, declared)
                control = image_extras.control_fields(studio)
                gr.Examples([[examples.landscape(), "a watercolor landscape at sunset"]], inputs=[image, prompt])
            outputs = _outputs()
        inpaint = inpaint_tab.inpaint_section(studio, gpu)
        upscale = image_tools.upscale_section(studio, gpu)
        image_tools.latent_section(studio, gpu)
    fields = {"negative_prompt": negative, "strength": strength, **settings}

    @guard
    @gpu_task("image_to_image")
    @spread(fields)
    def image_to_image(image, prompt, settings, model=None, loras=None, lora_weight=0.8, control_model=None,
                       control_image=None, control_preprocessor=None, control_scale=None, control_start=None,
                       control_end=None, progress=gr.Progress(track_tqdm=True)):
        guide = image_extras.control_value(control_model, control_image, control_preprocessor, control_scale,
                                           control_start, control_end)
        yield from _stream(studio, studio.image_to_image, image, prompt, **settings, model=client_model(model),
                           loras=lora_choice(loras, lora_weight), control=guide)

    follow_model(studio, "image_to_image", model, {"steps": settings["steps"], "guidance": settings["guidance"]})
    inputs = [image, prompt, *fields.values(), model, loras, lora_weight, *control.values()]
    _wire(run, stop, reuse, image_to_image, inputs, outputs, gpu, api_name="image_to_image", seed=settings["seed"],
          submit=prompt)
    names = ["image", "prompt", *fields, *PICKED, *control]
    return [TabParts("image_to_image", ("image_to_image",), _named(inputs, names), {"gallery": outputs[0]}), *inpaint, upscale]


def _named(components: list, names: list[str]) -> dict:
    return dict(zip(names, components, strict=True))

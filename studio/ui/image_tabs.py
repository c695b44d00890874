"""Text → Image and Image → Image tabs: prompt, settings, gallery, step previews, recipe."""

from __future__ import annotations

import gradio as gr

from studio.ui.errors import guard
from studio.ui.fields import Number, Slider, default
from studio.ui.streaming import run_with_steps


def _settings(studio, call, *, img2img: bool):
    """The shared settings accordion; returns the components in API order."""
    from pipelines.image import MAX_BATCH, MAX_GUIDANCE, MAX_SIZE, MAX_STEPS, SCHEDULERS

    with gr.Accordion("Settings", open=False):
        with gr.Row():
            steps = Slider(1, MAX_STEPS, step=1, value=default(studio, "image", call, "steps"), label="Steps")
            guidance = Slider(0, MAX_GUIDANCE, step=0.5, value=default(studio, "image", call, "guidance"), label="Guidance (CFG scale)")
        size_note = "0 = the input image's size" if img2img else "0 = the model's native size"
        with gr.Row():
            width = Slider(0, MAX_SIZE, step=8, value=0, label=f"Width ({size_note})")
            height = Slider(0, MAX_SIZE, step=8, value=0, label=f"Height ({size_note})")
        with gr.Row():
            seed = Number(value=-1, precision=0, label="Seed (-1 = random)")
            batch_size = Slider(1, MAX_BATCH, step=1, value=default(studio, "image", call, "batch_size"), label="Batch size")
        with gr.Row():
            scheduler = gr.Dropdown(["default", *SCHEDULERS], value="default", label="Sampler")
            preview_every = Slider(0, MAX_STEPS, step=1, value=default(studio, "image", call, "preview_every"),
                                   label="Show every Nth step (0 = off): noise turning into an image")
    return [steps, guidance, width, height, seed, batch_size, scheduler, preview_every]


def _stream(studio, operation, *args, **settings):
    """Run one image operation, yielding step previews, then the saved images and recipe."""
    settings["width"] = settings["width"] or None
    settings["height"] = settings["height"] or None
    frames = []
    for kind, value in run_with_steps(lambda on_step: operation(*args, callback=on_step, **settings)):
        if kind == "step" and value[2] is not None:
            frames.append(value[2])
            yield gr.skip(), frames, gr.skip()
        elif kind == "done":
            paths = studio.save(value)
            yield [str(p) for p in paths], value.previews, value.params


def _outputs():
    with gr.Column(scale=1):
        gallery = gr.Gallery(label="Images", format="png", columns=2, height="auto")
        previews = gr.Gallery(label="Steps", columns=8, rows=1, height="auto")
        recipe = gr.JSON(label="Recipe", open=False)
    return [gallery, previews, recipe]


def text_to_image_tab(studio, gpu: dict) -> None:
    from pipelines.image import TextToImage

    with gr.Tab("Text → Image", id="text_to_image"):
        with gr.Row():
            with gr.Column(scale=1):
                prompt = gr.Textbox(label="Prompt", lines=3, placeholder="a red fox in the snow, watercolor")
                negative_prompt = gr.Textbox(label="Negative prompt", value="", placeholder="blurry, low quality")
                run = gr.Button("Generate", variant="primary")
                settings = _settings(studio, TextToImage.__call__, img2img=False)
            outputs = _outputs()
        gr.Examples([["a red fox in the snow, watercolor"], ["a lighthouse at dawn, oil painting"]], inputs=[prompt])

    @guard
    def text_to_image(prompt, negative_prompt, steps, guidance, width, height, seed, batch_size, scheduler, preview_every,
                      progress=gr.Progress(track_tqdm=True)):
        yield from _stream(studio, studio.text_to_image, prompt, negative_prompt=negative_prompt, steps=steps,
                           guidance=guidance, width=width, height=height, seed=seed, batch_size=batch_size,
                           scheduler=scheduler, preview_every=preview_every)

    inputs = [prompt, negative_prompt, *settings]
    run.click(text_to_image, inputs, outputs, api_name="text_to_image", **gpu)
    prompt.submit(text_to_image, inputs, outputs, api_visibility="private", **gpu)


def image_to_image_tab(studio, gpu: dict) -> None:
    from pipelines.image import ImageToImage

    with gr.Tab("Image → Image", id="image_to_image"):
        with gr.Row():
            with gr.Column(scale=1):
                image = gr.Image(label="Image", type="pil", image_mode=None, sources=["upload", "clipboard"])
                prompt = gr.Textbox(label="Prompt", lines=2, placeholder="a watercolor fox")
                negative_prompt = gr.Textbox(label="Negative prompt", value="")
                strength = Slider(0.05, 1.0, step=0.05, value=default(studio, "image", ImageToImage.__call__, "strength"),
                                  label="Strength (how much of the image is redrawn)")
                run = gr.Button("Generate", variant="primary")
                settings = _settings(studio, ImageToImage.__call__, img2img=True)
            outputs = _outputs()

    @guard
    def image_to_image(image, prompt, negative_prompt, strength, steps, guidance, width, height, seed, batch_size,
                       scheduler, preview_every, progress=gr.Progress(track_tqdm=True)):
        yield from _stream(studio, studio.image_to_image, image, prompt, negative_prompt=negative_prompt,
                           strength=strength, steps=steps, guidance=guidance, width=width, height=height, seed=seed,
                           batch_size=batch_size, scheduler=scheduler, preview_every=preview_every)

    run.click(image_to_image, [image, prompt, negative_prompt, strength, *settings], outputs, api_name="image_to_image", **gpu)

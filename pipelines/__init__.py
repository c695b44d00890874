"""The model layer: one thin wrapper per task over diffusers and transformers.

Usable on its own, without the studio or gradio:

    from pipelines.image import TextToImage
    result = TextToImage.from_pretrained("stabilityai/sd-turbo")(prompt="a fox", seed=1)

Each wrapper validates its inputs first (a `ValueError` naming the field, the bad
value and the allowed range), draws and records a seed for every random choice,
and returns a small result dataclass whose `params` is the full recipe.
Heavy libraries are imported by the wrapper modules, not here, so importing
`pipelines` stays cheap.
"""

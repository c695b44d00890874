"""The studio's operations, declared once: the surfaces read this table.

One row per operation. Its `name` is the `Studio` method, the recipe's `task`,
the batch file's `task`, the CLI verb (with dashes) and the gradio `api_name`
(two operations share the `audio_to_audio` endpoint, told apart by `mode`).
`section` is the preset section naming its model and holding its
`[section.defaults]`; operations served by one model share a section (chat,
text_to_text and next_token share `text`).

Read by: the CLI's verbs (`studio.serving.cli`), the batch runner's tasks and
their order (`studio.serving.batch`), the savers (`studio.outputs.files`).
Adding an operation: a row here and its `Studio` method; see docs/architecture.md.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    name: str
    section: str  # preset section: its model and defaults
    wrapper: str  # "module:Class" of the pipelines/ wrapper it runs ("" when it combines operations)
    call: str = "__call__"  # the wrapper's method it runs
    result: str = ""  # the result type's name, which picks the saver (SAVERS)
    tab: str | None = None  # the UI tab holding it
    api_name: str | None = None  # its gradio endpoint
    mode: str | None = None  # the endpoint's `mode` choosing it, when operations share one
    gpu_seconds: int = 60  # ZeroGPU's duration hint for one call
    cli: bool = True  # a `studio` verb
    batch: bool = True  # a task of batch files
    old_names: tuple[str, ...] = ()  # names still accepted for one release
    also: tuple[str, ...] = ()  # "module:Class.method" of other wrapper calls sharing its settings and section


    @property
    def verb(self) -> str:
        return self.name.replace("_", "-")

    @property
    def saver(self) -> str | None:
        """The module saving this operation's results (None: nothing to save, e.g. a view)."""
        return SAVERS.get(self.result)

    def wrapper_class(self) -> type:
        module, _, name = self.wrapper.partition(":")
        return getattr(importlib.import_module(module), name)

    def wrapper_call(self):
        """The wrapper method this operation runs."""
        return getattr(self.wrapper_class(), self.call)

    def calls(self) -> list:
        """Every wrapper method it may run: its own, then those of `also`."""
        found = [self.wrapper_call()] if self.wrapper and self.call else []
        for path in self.also:
            module, _, dotted = path.partition(":")
            owner, _, method = dotted.partition(".")
            found.append(getattr(getattr(importlib.import_module(module), owner), method))
        return found

    def settings(self):
        """The settings its wrapper calls declare (`pipelines.settings`), its own first."""
        from pipelines.settings import Settings, settings_of

        declared = Settings()
        for call in self.calls():
            declared = declared + settings_of(call)
        return declared


_T, _IMG, _INPAINT, _UP = "pipelines.text:LanguageModel", "pipelines.image:TextToImage", "pipelines.inpaint:Inpaint", "pipelines.upscale:Upscaler"
_TTS, _STT, _MUSIC = "pipelines.speech:TextToSpeech", "pipelines.transcribe:SpeechToText", "pipelines.music:TextToMusic"

# In the order of the UI's tabs (the CLI lists its verbs in this order); batch jobs run grouped by section,
# sections in the order of SECTIONS, so each model loads once per process.
TABLE = (
    Operation("chat", "text", _T, "chat", "TextResult", "chat", "chat", gpu_seconds=90),
    Operation("text_to_text", "text", _T, "text_to_text", "TextResult", "text_to_text", "text_to_text", gpu_seconds=90),
    Operation("next_token", "text", _T, "next_token", "TokenTable", "text_to_text", "next_token", gpu_seconds=30),
    Operation("text_to_image", "image", _IMG, result="ImageResult", tab="text_to_image", api_name="text_to_image",
              gpu_seconds=120),
    Operation("image_to_image", "image", "pipelines.image:ImageToImage", result="ImageResult", tab="image_to_image",
              api_name="image_to_image", gpu_seconds=120),
    Operation("inpaint", "image", _INPAINT, result="ImageResult", tab="inpaint", api_name="inpaint", gpu_seconds=120),
    Operation("outpaint", "image", _INPAINT, "outpaint", "ImageResult", "inpaint", "outpaint", gpu_seconds=120),
    Operation("upscale", "upscale", _UP, result="ImageResult", tab="image_to_image", api_name="upscale"),
    Operation("vae_latents", "image", _IMG, "", "LatentView", "image_to_image", "vae_latents", gpu_seconds=30,
              cli=False, batch=False),
    Operation("text_to_speech", "speech", _TTS, result="AudioResult", tab="text_to_speech", api_name="text_to_speech",
              also=("pipelines.voice_clone:VoiceClone.__call__",)),
    Operation("speech_to_text", "transcribe", _STT, result="Transcript", tab="speech_to_text",
              api_name="speech_to_text", gpu_seconds=180),
    Operation("text_to_music", "music", _MUSIC, result="AudioResult", tab="text_to_music", api_name="text_to_music",
              gpu_seconds=180),
    Operation("continue_music", "music", _MUSIC, "continue_music", "AudioResult", "audio_to_audio", "audio_to_audio",
              mode="continue", gpu_seconds=180),
    Operation("translate_speech", "transcribe", "", result="AudioResult", tab="audio_to_audio", api_name="audio_to_audio",
              mode="translate", gpu_seconds=180),
    Operation("xy_plot", "image", "", result="XYPlot", tab="text_to_image", api_name="xy_plot", gpu_seconds=600),
)
OPERATIONS: dict[str, Operation] = {op.name: op for op in TABLE}
# The order batch jobs run in: one model family after the other.
SECTIONS = ("image", "upscale", "text", "speech", "transcribe", "music")

# result type -> module with save(result, folder, ...) -> paths and read(path) -> recipe | None
SAVERS = {
    "ImageResult": "studio.outputs.image",
    "TextResult": "studio.outputs.text",
    "TokenTable": "studio.outputs.text",
    "AudioResult": "studio.outputs.audio",
    "Transcript": "studio.outputs.transcript",
    "XYPlot": "studio.outputs.xy_plot",
}

# Keywords only Python callers can give (functions, events): not CLI options, not batch fields.
PYTHON_ONLY = {"self", "callback", "stop"}


def get(name: str) -> Operation:
    """The operation called `name` (or one of its old names)."""
    if name in OPERATIONS:
        return OPERATIONS[name]
    for op in TABLE:
        if name in op.old_names:
            return op
    raise ValueError(f"unknown operation {name!r}; choose one of: {', '.join(OPERATIONS)}")


def keywords(section: str) -> set[str]:
    """Every keyword the wrapper calls of `section`'s operations take: what its preset defaults may set."""
    import inspect

    return {name for op in TABLE if op.section == section for call in op.calls()
            for name, parameter in inspect.signature(call).parameters.items() if parameter.kind is parameter.KEYWORD_ONLY}


def endpoint_modes(api_name: str) -> dict[str, Operation]:
    """mode -> operation of an endpoint that several operations share."""
    return {op.mode: op for op in TABLE if op.api_name == api_name and op.mode}

"""The `Studio` facade: every operation of the UI, the CLI and the batch runner."""

from __future__ import annotations

from studio.tasks.audio import AudioTasks
from studio.tasks.image import ImageTasks
from studio.tasks.inpaint import InpaintTasks
from studio.tasks.text import TextTasks
from studio.tasks.translate import TranslateTasks
from studio.tasks.xy_plot import XYPlotTasks


class Studio(ImageTasks, InpaintTasks, XYPlotTasks, TranslateTasks, TextTasks, AudioTasks):
    """One preset, one model cache, one outputs folder. Thread-safe: one model serves one call at a time."""

    def preload(self) -> list[str]:
        """Load every model of the preset now, rather than on first use; returns their ids.

        For hosts where a call cannot keep what it loads, such as ZeroGPU (each call
        runs in a worker that ends with it), and to warm a server before users come.
        """
        from pipelines.image import TextToImage
        from pipelines.melody import MelodyToMusic
        from pipelines.music import TextToMusic
        from pipelines.speech import TextToSpeech
        from pipelines.text import LanguageModel
        from pipelines.transcribe import SpeechToText
        from pipelines.upscale import Upscaler

        wanted = [
            ("text_to_image", "image", TextToImage),
            ("upscale", "upscale", Upscaler),
            ("text", "text", LanguageModel),
            ("speech_to_text", "transcribe", SpeechToText),
            ("text_to_music", "music", TextToMusic),
            ("text_to_music_melody", "melody", MelodyToMusic),
        ]
        loaded = []
        for kind, section, wrapper in wanted:
            if self.preset.sections.get(section, {}).get("model"):
                model = self.model_ref(section)
                with self._use(kind, model, wrapper.from_pretrained):
                    loaded.append(model)
        for voice in dict.fromkeys(self.preset.voices().values()):
            model = self.model_ref("speech", voice)
            with self._use("text_to_speech", model, TextToSpeech.from_pretrained):
                loaded.append(model)
        if self.preset.sections.get("speech", {}).get("clone"):
            from pipelines.voice_clone import VoiceClone

            model = self.model_ref("speech", self.preset.clone())
            with self._use("text_to_speech_clone", model, VoiceClone.from_pretrained):
                loaded.append(model)
        return loaded

    def warm_up(self) -> list[str]:
        """Pay `torch.compile`'s compile now, before users come, not on someone's first image; returns what ran.

        Only with `STUDIO_COMPILE=1`, which compiles the image model's denoiser (pipelines.devices.place): one
        step of the preset's defaults (the model's native size, one image), the shape most requests have. Another
        size or batch compiles again on its first call. Nothing is saved.
        """
        from pipelines.devices import compile_requested

        if not compile_requested() or not self.preset.sections.get("image", {}).get("model"):
            return []
        self.text_to_image("warm-up", steps=1, seed=0)
        return [self.model_choice("image").name]

"""Speech translation: one operation over the audio and text task groups (Whisper hears, the
text model translates, a voice speaks), so it lives where they are combined.

`translate_speech` into English lets Whisper translate itself; into another
language Whisper transcribes and the text model translates, unless the speech
is already in that language. `keep_voice` clones the speaker's voice from the
input (`text_to_speech(voice=<recording>)`).
"""

from __future__ import annotations

from pipelines import checks
from pipelines.settings import settings_of
from studio.tasks.audio import AudioTasks
from studio.tasks.text import TextTasks


class TranslateTasks(TextTasks, AudioTasks):
    def translate_speech(
        self,
        audio,
        *,
        language: str | None = None,
        speaking_rate: float | None = None,
        pause: float | None = None,
        seed: int | None = None,
        model: str | None = None,
        keep_voice: bool | None = None,
        stop=None,
    ):
        """`audio`'s speech said again in `language` (a voice of the preset), as an AudioResult.

        Into English, Whisper translates directly (its translate task). Into another
        language, Whisper transcribes; the text is kept if it is already in that
        language, else the text model translates it (`text_to_text`, mode translate).
        The recipe holds the transcript and the text spoken. `model`: the voice that speaks.
        `keep_voice`: the speaker's own voice says it, cloned from the first 30 s of `audio`
        (at least 5 s) by the preset's `[speech] clone` model (see `text_to_speech(voice=)`).
        `stop` (a threading.Event or a function returning True) raises Cancelled at the next token or stage.
        """
        given = dict(locals())
        from pipelines.speech import TextToSpeech

        if keep_voice is not None and not isinstance(keep_voice, bool):
            raise ValueError(f"keep_voice must be true or false, got {keep_voice!r}")
        if keep_voice:
            return self._translate_in_own_voice(audio, language, given, model, stop)
        target, speaker = self._voice(language, model)
        given["seed"] = seed = checks.seed(seed)  # one seed for the text model and the voice, recorded
        # The voice's settings (the caller's, else the preset's) are checked now, not after Whisper and the text model have run.
        settings_of(TextToSpeech.__call__).check(self._settings("text_to_speech", given, model=speaker))
        heard, text, translator = self._heard_in(audio, target, seed, stop)
        voice = settings_of(TextToSpeech.__call__).pick(given)
        spoken = self.text_to_speech(text, language=target, model=model, **voice)
        if translator:
            spoken.params["translate_model"] = translator
        spoken.params.update(
            task="translate_speech",
            source_language=heard.language,
            transcript=heard.text,
            transcribe_model=heard.params["model"],
        )
        return spoken

    def _heard_in(self, audio, target: str, seed: int, stop):
        """(Whisper's transcript of `audio`, its text in `target`, the text model that translated it or None).

        Into English Whisper translates itself; into another language its transcript is kept
        when already in that language, else the text model translates it.
        """
        from pipelines.stopping import halt_if, stop_check

        heard = self.speech_to_text(audio, task="translate" if target == "en" else "transcribe", stop=stop)
        if not heard.text:
            raise ValueError("audio holds no speech (it is silent); nothing to translate")
        text, translator = heard.text, None
        if target != "en" and heard.language != target:
            text, translator = self._translate_text(text, target, seed)
            if not text:
                raise ValueError(f"the text model's translation into {target!r} came out empty; try another seed")
        halt_if(stop_check(stop), "speech translation")
        return heard, text, translator

    def _translate_in_own_voice(self, audio, language, given: dict, model, stop):
        """translate_speech with the speaker's voice, cloned from the first 30 s of `audio`; `given`: the caller's settings."""
        from pipelines.audio_io import load_audio
        from pipelines.voice_clone import MAX_REFERENCE, MIN_REFERENCE, VoiceClone

        own = self._voice_settings(given, VoiceClone.__call__, "keep_voice (the cloned voice keeps its own pace)")
        target = checks.text("language", language or next(iter(self.preset.voices()), "en"), max_chars=32)
        seed = checks.seed(own.get("seed"))
        samples, rate = load_audio(audio)
        if len(samples) < MIN_REFERENCE * rate:
            raise ValueError(f"keep_voice needs at least {MIN_REFERENCE:g} s of speech to clone the voice from; "
                             f"audio is {len(samples) / rate:.1f} s long")
        reference = (rate, samples[: int(MAX_REFERENCE * rate)])
        self.preset.clone()  # a preset without a clone model says so before Whisper runs
        heard, text, translator = self._heard_in((rate, samples), target, seed, stop)  # decoded once, above
        # The transcript is the reference's words when it covers the whole reference in its own language.
        whole = len(samples) == len(reference[1]) and target != "en"
        spoken = self.text_to_speech(text, language=target, voice=reference, reference_text=heard.text if whole else None,
                                     seed=seed, model=model, stop=stop)
        if translator:
            spoken.params["translate_model"] = translator
        spoken.params.update(task="translate_speech", keep_voice=True, source_language=heard.language,
                             transcript=heard.text, transcribe_model=heard.params["model"])
        return spoken

    def _voice(self, language: str | None, model: str | None = None) -> tuple[str, str]:
        """The language code and the model of its voice (`model` when given); unknown languages list the preset's."""
        voices = self.preset.voices()
        if model not in (None, ""):
            code = language or next(iter(voices), "en")
            return checks.text("language", code, max_chars=32), self.model_ref("speech", model)
        if not voices:
            raise ValueError(f'preset {self.preset.name!r} has no voices; add [speech.voices] en = "model id"')
        code = next(iter(voices)) if language in (None, "") else checks.choice("language", language, voices)
        return code, self.model_ref("speech", voices[code])

    def _translate_text(self, text: str, target: str, seed: int | None) -> tuple[str, str]:
        """`text` in `target` by the text model, and that model's name."""
        translated = self.text_to_text(text, mode="translate", target_language=target, seed=seed)
        return translated.text.strip(), translated.params.get("model", "")

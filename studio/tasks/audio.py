"""Audio operations: text-to-speech, speech-to-text, text-to-music and its continuation
(speech translation, which needs the text model too, is in `studio.tasks.translate`).

Audio inputs are a file path, a `(sampling_rate, array)` tuple (as gradio gives
it) or an `AudioResult`. One voice model per language, from the preset's
`[speech.voices]`; when `language` is left out the first voice listed speaks.
"""

from __future__ import annotations

from pipelines import checks
from pipelines.settings import settings_of
from studio.base import StudioBase


class AudioTasks(StudioBase):
    def text_to_speech(
        self,
        text: str,
        *,
        language: str | None = None,
        voice: str | tuple | None = None,
        reference_text: str | None = None,
        speaking_rate: float | None = None,
        pause: float | None = None,
        seed: int | None = None,
        model: str | None = None,
        stop=None,
    ):
        """Speech reading `text`, as an AudioResult (float32, the voice's rate, 16 kHz for MMS-TTS).

        `language`: a code of the preset's voices ("en", "fr"; default: the first one).
        `voice`: a preset voice by language code or model name, a speaker of a multi-speaker
        model (`"<model>#<index>"`, or the index alone for the voice `language`/`model` pick);
        `voices()` lists them. The recipe's `voice` names it.
        `voice` may also be a recording (a path, a (rate, array) tuple, an AudioResult) of 5 to
        30 s: the preset's `[speech] clone` model (CSM) speaks in that voice. `reference_text`:
        the recording's words (default: Whisper transcribes it). The recipe keeps the
        reference text and `voice_sha256`, a hash of the recording's samples, never the audio.
        `stop` (a threading.Event or a function returning True) raises Cancelled within a frame of a cloned voice.
        Long text is read sentence by sentence with `pause` seconds between them; a rate above 1
        is faster (`settings("text_to_speech")` gives the ranges). `seed` None or -1 draws one (recorded in the result).
        `model`: a voice model (hub id or library name) instead of the preset's voice for `language`.
        """
        given = dict(locals())
        from pipelines.speech import TextToSpeech
        from studio.tasks import voices

        if voices.is_recording(self, voice):
            return self._cloned_speech(text, voice, reference_text, language, model, stop, given)
        if reference_text not in (None, ""):
            raise ValueError("reference_text is the words of a recording to clone; give that recording as voice, or leave it out")
        chosen = voices.resolve(self, voice, language, model)
        settings = self._settings("text_to_speech", {**given, "speaker": chosen.speaker}, model=chosen.model)
        with self._guard("speaking"), self._use("text_to_speech", chosen.model, TextToSpeech.from_pretrained) as speaker:
            result = speaker(text, **settings)
        result.params.update(language=chosen.language, voice=chosen.name)
        return self._finish(result)

    def _cloned_speech(self, text, voice, reference_text, language, model, stop, given: dict):
        """`text` said by the preset's clone model in the voice of the recording `voice`; `given`: the caller's settings."""
        from pipelines.voice_clone import VoiceClone, reference_samples
        from studio.tasks import voices

        own = self._voice_settings(given, VoiceClone.__call__, "a voice cloned from a recording (CSM keeps its own pace)")
        reference_samples(voice, 16_000)  # its length and silence are checked before Whisper runs
        loaded = self.model_ref("speech", model if model not in (None, "") else self.preset.clone())
        heard = None
        if reference_text in (None, ""):
            heard = self.speech_to_text(voice, stop=stop)
            if not heard.text:
                raise ValueError("voice recording holds no words Whisper could hear; give reference_text, the words it says")
        settings = self._settings("text_to_speech", own, model=loaded, call=VoiceClone.__call__)
        with self._guard("speaking"), self._use("text_to_speech_clone", loaded, VoiceClone.from_pretrained) as clone:
            result = clone(text, voice=voice, reference_text=heard.text if heard else reference_text, stop=stop, **settings)
        result.params.update(voice=voices.CLONED, reference_text_from="whisper" if heard else "given")
        if heard is not None:
            result.params["transcribe_model"] = heard.params["model"]
        if language not in (None, ""):
            result.params["language"] = checks.text("language", language, max_chars=32)
        return self._finish(result)

    def _voice_settings(self, given: dict, call, refused: str) -> dict:
        """The settings among `given` that a cloned voice's `call` takes; a text_to_speech setting it lacks (a rate,
        a pause) is refused when given, the message saying with what (`refused`)."""
        from pipelines.speech import TextToSpeech

        own = settings_of(call)
        for name, value in settings_of(TextToSpeech.__call__).pick(given).items():
            if value is not None and name not in own:
                raise ValueError(f"{name} is not available with {refused}; leave it out")
        return own.pick(given)

    def voices(self) -> list[str]:
        """The names `text_to_speech(voice=)` takes: language codes, voice models, then each speaker of a multi-speaker model."""
        from studio.tasks import voices

        return voices.available(self)

    def speech_to_text(
        self,
        audio,
        *,
        task: str | None = None,
        language: str | None = None,
        timestamps: bool | str | None = None,
        batch_size: int | None = None,
        vad: bool | None = None,
        model: str | None = None,
        stop=None,
    ):
        """The words spoken in `audio` (at most 10 minutes), as a Transcript (.text, .segments, .to_srt(), .to_vtt()).

        `task`: transcribe | translate (into English). `language`: "auto" (detected on
        the first 30 s with sound) or a code ("en", "fr", ...). `timestamps`: true (segments),
        false (one segment a window) or "word" (also each word's times, `.words`, in the JSON
        and as VTT cue timestamps). `vad` (default on): Silero
        VAD finds the speech, pauses are skipped and windows of at most 30 s end in them;
        off: windows end at the quietest moment. Windows are decoded `batch_size` at a
        time. Silence gives an empty transcript. `stop` (a threading.Event or a function
        returning True) raises Cancelled within a token.
        """
        given = dict(locals())
        from pipelines.transcribe import SpeechToText

        loaded = self.model_ref("transcribe", model)
        settings = self._settings("speech_to_text", given, model=loaded)  # `stop` among them, when given
        with self._guard("transcribing"), self._use("speech_to_text", loaded, SpeechToText.from_pretrained) as whisper:
            return self._finish(whisper(audio, **settings))

    def text_to_music(
        self,
        prompt: str,
        *,
        duration: float | None = None,
        guidance: float | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        seed: int | None = None,
        melody=None,
        model: str | None = None,
        stop=None,
    ):
        """`duration` seconds (at most 120) of music after `prompt`, as an AudioResult.

        Past MusicGen's 30 s window the music is continued window by window.
        `guidance` 1 turns classifier-free guidance off. Stereo models give (samples, 2).
        `melody` (audio: a hummed, whistled or played tune) makes the preset's MusicGen
        Melody play that tune in the style of `prompt` (at most 30 s). `stop` (a
        threading.Event or a function returning True) raises Cancelled within a token.
        """
        given = dict(locals())
        from pipelines.music import TextToMusic

        # MusicGen Melody shares [music.defaults]; a [music.model_defaults] table may name it too.
        loaded = self.model_ref("melody" if melody is not None else "music", model)
        settings = self._settings("text_to_music", given, model=loaded)  # `stop` among them, when given
        if melody is not None:
            from pipelines.melody import MelodyToMusic

            with self._guard("writing music"), self._use("text_to_music_melody", loaded, MelodyToMusic.from_pretrained) as music:
                return self._finish(music(prompt, melody=melody, **settings))
        with self._guard("writing music"), self._use("text_to_music", loaded, TextToMusic.from_pretrained) as music:
            return self._finish(music(prompt, **settings))

    def continue_music(
        self,
        audio,
        prompt: str,
        *,
        duration: float | None = None,
        guidance: float | None = None,
        temperature: float | None = None,
        top_k: int | None = None,
        seed: int | None = None,
        keep_prompt: bool | None = None,
        model: str | None = None,
        stop=None,
    ):
        """`duration` more seconds of `audio`, steered by `prompt` (may be empty), as an AudioResult.

        The last 10 s of `audio` condition MusicGen. The result is the new music
        only, or with `keep_prompt` the given audio followed by it. `stop`: as for text_to_music.
        """
        given = dict(locals())
        from pipelines.music import TextToMusic

        loaded = self.model_ref("music", model)
        settings = self._settings("continue_music", given, model=loaded)  # `stop` among them, when given
        with self._guard("continuing music"), self._use("text_to_music", loaded, TextToMusic.from_pretrained) as music:
            return self._finish(music.continue_music(audio, prompt, **settings))

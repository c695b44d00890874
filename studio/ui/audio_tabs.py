"""Text → Speech, Speech → Text, Text → Music and Audio → Audio tabs.

Audio arrives as a file path (`gr.Audio(type="filepath")`, uploads as they are,
recordings as WAV) and the studio decodes it; results are saved with their
recipe and shown from the saved file. Endpoints: `text_to_speech`,
`speech_to_text`, `text_to_music`, `audio_to_audio` (mode continue | translate).
"""

from __future__ import annotations

import gradio as gr

from studio.ui import examples
from studio.ui.errors import guard
from studio.ui.fields import Radio, spread, widget, widgets
from studio.ui.i18n import t
from studio.ui.model_picker import client_model, model_dropdown
from studio.ui.parts import TabParts
from studio.ui.streaming import waiting
from studio.ui.zerogpu import gpu_task

TEXTS = {
    "tab_tts": ("Text → Speech", "Synthèse vocale"),
    "tab_stt": ("Speech → Text", "Transcription"),
    "tab_t2m": ("Text → Music", "Musique à partir de texte"),
    "tab_a2a": ("Audio → Audio", "Audio à partir d'audio"),
    "aud_text": ("Text to read", "Texte à lire"),
    "aud_language": ("Language", "Langue"),
    "aud_voice": ("Voice (empty: the language's voice)", "Voix (vide : celle de la langue)"),
    "aud_clone": ("Clone a voice from a recording", "Cloner une voix à partir d'un enregistrement"),
    "aud_clone_audio": ("Recording of the voice, 5 to 30 s (upload or record)",
                        "Enregistrement de la voix, 5 à 30 s (fichier ou micro)"),
    "aud_reference_text": ("What the recording says (empty: Whisper transcribes it)",
                           "Ce que dit l'enregistrement (vide : Whisper le transcrit)"),
    "aud_keep_voice": ("Keep the speaker's voice (cloned from the input)", "Garder la voix de l'orateur (clonée depuis l'entrée)"),
    "aud_format": ("File format", "Format du fichier"),
    "aud_settings": ("Settings", "Réglages"),
    "aud_speak": ("Speak", "Lire à voix haute"),
    "aud_result": ("Result", "Résultat"),
    "aud_recipe": ("Recipe", "Recette"),
    "aud_input": ("Audio (upload or record)", "Audio (fichier ou micro)"),
    "aud_words": ("Word timings (in the JSON and the VTT)", "Horodatage des mots (dans le JSON et le VTT)"),
    "aud_transcribe": ("Transcribe", "Transcrire"),
    "aud_transcript": ("Text", "Texte"),
    "aud_segments": ("Segments", "Segments"),
    "aud_files": ("Subtitles and text (SRT, VTT, TXT, JSON)", "Sous-titres et texte (SRT, VTT, TXT, JSON)"),
    "aud_prompt": ("Describe the music", "Décrivez la musique"),
    "aud_compose": ("Compose", "Composer"),
    "aud_mode": ("Mode", "Mode"),
    "aud_mode_info": ("continue: more of the music; melody: play this tune in the style described; "
                      "translate: the speech said again in another language",
                      "continue : prolonger la musique ; melody : jouer cet air dans le style décrit ; "
                      "translate : redire la parole dans une autre langue"),
    "aud_target_language": ("Say it in", "Dire en"),
    "aud_run": ("Run", "Lancer"),
    "aud_stop": ("Stop", "Arrêter"),
    "aud_heard": ("Heard in the input", "Entendu dans l'entrée"),
    "aud_heard_info": ("translate: the words, then what was spoken; melody: the tune's notes, most frequent first",
                       "traduire : les mots, puis ce qui a été prononcé ; mélodie : les notes, les plus fréquentes d'abord"),
}
FORMATS = ["wav", "flac", "mp3"]
MODES = ("continue", "melody", "translate")
# /audio_to_audio's parameters between its prompt and its format, in their public order: clients call them by name
A2A_PARAMETERS = ("duration", "keep_prompt", "language", "guidance", "temperature", "top_k", "seed")


def _saved(studio, result, format: str) -> tuple[str, dict]:
    return str(studio.save(result, format=format)[0]), result.params


def _controls(label: str):
    with gr.Row():
        run = gr.Button(t(label), variant="primary", scale=3)
        stop = gr.Button(t("aud_stop"), variant="stop", scale=1)
    return run, stop


def _stoppable(stop, event) -> None:
    stop.click(None, None, None, cancels=[event], queue=False, api_visibility="private")


def _seed_and_format(settings):
    with gr.Row():
        seed = widget(settings["seed"], value=-1)
        format = Radio(FORMATS, value=FORMATS[0], label=t("aud_format"))
    return seed, format


def text_to_speech_tab(studio, gpu: dict) -> TabParts:
    settings, languages = studio.settings("text_to_speech"), list(studio.preset.voices())
    # The voice's own settings; the seed sits beside the format, and the Voice field names a speaker.
    voice_settings = [name for name in settings.names() if name not in ("seed", "speaker")]
    with gr.Tab(t("tab_tts"), id="text_to_speech"), gr.Row():
        with gr.Column():
            text = gr.Textbox(label=t("aud_text"), lines=5, placeholder="Bonjour ! Je lis ce texte à voix haute.")
            language = gr.Dropdown(languages, value=languages[0] if languages else None, label=t("aud_language"),
                                   allow_custom_value=True)
            voice = gr.Dropdown(["", *studio.voices()], value="", label=t("aud_voice"), allow_custom_value=True)
            with gr.Accordion(t("aud_clone"), open=False):
                voice_recording = gr.Audio(label=t("aud_clone_audio"), sources=["upload", "microphone"], type="filepath")
                reference_text = gr.Textbox(label=t("aud_reference_text"), lines=2)
            run, stop = _controls("aud_speak")
            with gr.Accordion(t("aud_settings"), open=False):
                fields = widgets(settings, voice_settings)
                fields["seed"], format = _seed_and_format(settings)
                model = model_dropdown(studio, "speech")
        with gr.Column():
            audio = gr.Audio(label=t("aud_result"), type="filepath", interactive=False)
            recipe = gr.JSON(label=t("aud_recipe"), open=False)
        gr.Examples([["Hello! This studio reads text aloud.", "en"], ["Bonjour ! Ce studio lit le texte à voix haute.", "fr"]],
                    inputs=[text, language])

    @guard
    @gpu_task("text_to_speech")
    @spread(fields)
    def text_to_speech(text, language, settings, format, model=None, voice=None, voice_recording=None,
                       reference_text=None, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="loading the voice")
        # The voices of the preset answer for their languages; another model only when one is picked
        # (a restored clone recipe names the clone model, which reads no text without its recording).
        preset_models = [*studio.preset.voices().values(), studio.preset.sections.get("speech", {}).get("clone")]
        chosen = None if model in preset_models else client_model(model)
        if voice_recording:  # a recording clones its voice with the preset's clone model: its own pace, no model pick
            speech = dict(voice=voice_recording, reference_text=reference_text or None, seed=settings["seed"])
        else:
            speech = dict(voice=voice_name(studio, voice), model=chosen, **settings)
        result = yield from waiting(lambda stop: studio.text_to_speech(text, language=language, stop=stop, **speech), 2)
        yield _saved(studio, result, format)

    parameters = [text, language, *fields.values(), format, model, voice, voice_recording, reference_text]
    _stoppable(stop, run.click(text_to_speech, parameters, [audio, recipe], api_name="text_to_speech", **gpu))
    inputs = {"text": text, "language": language, "voice": voice, "reference_text": reference_text, **fields,
              "model": model}
    return TabParts("text_to_speech", ("text_to_speech",), inputs, {"audio": audio})


def voice_name(studio, voice) -> str | None:
    """The Voice field's value, which must name a voice: `Studio.text_to_speech` also takes a file
    to clone for `voice`, and a client may type any text there. A voice of the list, or a speaker
    ("<a voice of the list>#3", or "3" alone) passes; anything else gets one message, whatever it
    names on this server, so the field reads no file and tells nothing of which exist."""
    if voice in (None, ""):
        return None
    names = studio.voices()
    head, hash_mark, index = str(voice).rpartition("#")
    if voice in names or str(voice).isdigit() or (hash_mark and index.isdigit() and head in names):
        return voice
    raise ValueError(f"voice {str(voice)[:80]!r} is not a voice of this studio; choose one of: {', '.join(names[:12])} "
                     "(to clone a voice, give its recording in the recording field)")


def speech_to_text_tab(studio, gpu: dict) -> TabParts:
    settings = studio.settings("speech_to_text")
    timed = settings["timestamps"].default  # True, False or "word": the checkbox shows segments, Word timings the words
    with gr.Tab(t("tab_stt"), id="speech_to_text"), gr.Row():
        with gr.Column():
            audio = gr.Audio(label=t("aud_input"), sources=["upload", "microphone"], type="filepath")
            fields = widgets(settings, ["task", "language"], task={"radio": True}, language={"allow_custom_value": True})
            run, stop = _controls("aud_transcribe")
            with gr.Accordion(t("aud_settings"), open=False):
                more = [name for name in settings.names() if name not in fields]
                fields.update(widgets(settings, more, timestamps={"value": bool(timed)}))
                words = gr.Checkbox(value=timed == "word", label=t("aud_words"))
                model = model_dropdown(studio, "transcribe")
            spoken = examples.speech()
            if spoken:
                gr.Examples([[spoken, "transcribe"], [spoken, "translate"]], inputs=[audio, fields["task"]])
        with gr.Column():
            text = gr.Textbox(label=t("aud_transcript"), lines=6, interactive=False)
            segments = gr.Dataframe(headers=["start", "end", "text"], label=t("aud_segments"), interactive=False)
            files = gr.File(label=t("aud_files"), file_count="multiple", interactive=False)
            recipe = gr.JSON(label=t("aud_recipe"), open=False)

    @guard
    @gpu_task("speech_to_text")
    @spread(fields)
    def speech_to_text(audio, settings, words=False, model=None, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="reading the audio")
        if words:
            settings["timestamps"] = "word"
        transcript = yield from waiting(lambda stop: studio.speech_to_text(
            audio, **settings, model=client_model(model), stop=stop), 4)
        paths = studio.save(transcript)
        rows = [[start, end, words] for start, end, words in transcript.segments]
        yield transcript.text, rows, [str(p) for p in paths], transcript.params

    _stoppable(stop, run.click(speech_to_text, [audio, *fields.values(), words, model],
                               [text, segments, files, recipe], api_name="speech_to_text", **gpu))
    # A recipe's `task` is the operation's name (its Whisper task is `whisper_task`): not restored into Task.
    inputs = {"audio": audio, **{name: field for name, field in fields.items() if name != "task"}, "model": model}
    return TabParts("speech_to_text", ("speech_to_text",), inputs, {"text": text})


def _music_settings(studio, settings):
    """The inputs of text_to_music's settings (`settings`: an operation's; any others are left to the caller),
    the format and the model."""
    fields = widgets(settings, ["duration"])
    with gr.Accordion(t("aud_settings"), open=False):
        with gr.Row():
            fields.update(widgets(settings, ["guidance", "temperature"]))
        fields.update(widgets(settings, ["top_k"], top_k={"maximum": 2048}))
        fields["seed"], format = _seed_and_format(settings)
        model = model_dropdown(studio, "music")
    return fields, format, model


def text_to_music_tab(studio, gpu: dict) -> TabParts:
    with gr.Tab(t("tab_t2m"), id="text_to_music"), gr.Row():
        with gr.Column():
            prompt = gr.Textbox(label=t("aud_prompt"), lines=3, placeholder="calm piano with soft rain, lo-fi")
            run, stop = _controls("aud_compose")
            fields, format, model = _music_settings(studio, studio.settings("text_to_music"))
        with gr.Column():
            audio = gr.Audio(label=t("aud_result"), type="filepath", interactive=False)
            recipe = gr.JSON(label=t("aud_recipe"), open=False)
        gr.Examples([["calm piano with soft rain, lo-fi"], ["80s synth pop with a driving bass line"]], inputs=[prompt])

    @guard
    @gpu_task("text_to_music")
    @spread(fields)
    def text_to_music(prompt, settings, format, model=None, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="loading the music model")
        result = yield from waiting(lambda stop: studio.text_to_music(prompt, **settings, model=client_model(model),
                                                                      stop=stop), 2)
        yield _saved(studio, result, format)

    _stoppable(stop, run.click(text_to_music, [prompt, *fields.values(), format, model],
                               [audio, recipe], api_name="text_to_music", **gpu))
    inputs = {"prompt": prompt, **fields}
    return TabParts("text_to_music", ("text_to_music",), inputs, {"audio": audio})


def audio_to_audio_tab(studio, gpu: dict) -> TabParts:
    settings, composing = studio.settings("continue_music"), studio.settings("text_to_music")
    languages = list(studio.preset.voices())
    with gr.Tab(t("tab_a2a"), id="audio_to_audio"), gr.Row():
        with gr.Column():
            audio = gr.Audio(label=t("aud_input"), sources=["upload", "microphone"], type="filepath")
            mode = Radio(list(MODES), value=MODES[0], label=t("aud_mode"), info=t("aud_mode_info"))
            with gr.Group(visible=True) as continuing:
                prompt = gr.Textbox(value="", label=t("aud_prompt"), lines=2, placeholder="add drums and bass")
                keep_prompt = widget(settings["keep_prompt"])
            with gr.Group(visible=False) as translating:
                language = gr.Dropdown(languages, value=languages[0] if languages else None, label=t("aud_target_language"),
                                       allow_custom_value=True)
                keep_voice = gr.Checkbox(value=False, label=t("aud_keep_voice"))
            run, stop = _controls("aud_run")
            fields, format, model = _music_settings(studio, settings)
            gr.Examples([[examples.melody(), "continue", "add soft drums and a bass line"]], inputs=[audio, mode, prompt])
        with gr.Column():
            result = gr.Audio(label=t("aud_result"), type="filepath", interactive=False)
            # what translate and melody found in the input; continue finds nothing to show
            heard = gr.Textbox(label=t("aud_heard"), info=t("aud_heard_info"), lines=4, interactive=False, visible=False)
            recipe = gr.JSON(label=t("aud_recipe"), open=False)

    def show(chosen):
        return (gr.Group(visible=chosen != "translate"), gr.Group(visible=chosen == "translate"),
                gr.Textbox(visible=chosen != "continue"))

    fields = {**fields, "keep_prompt": keep_prompt, "language": language}
    parameters = {name: fields[name] for name in A2A_PARAMETERS}

    @guard
    @gpu_task("audio_to_audio")
    @spread(parameters)
    def audio_to_audio(audio, mode, prompt, settings, format, model=None, keep_voice=False,
                       progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="reading the audio")
        language = settings.pop("language")  # translate's; the others are continue_music's settings
        if mode == "translate":
            output = yield from waiting(lambda stop: studio.translate_speech(audio, language=language, seed=settings["seed"],
                                                                             keep_voice=bool(keep_voice), stop=stop), 3)
            path, params = _saved(studio, output, format)
            yield path, f"{params['transcript']}\n→ {params['text']}", params
            return
        if mode == "melody":  # the given audio is the tune, the prompt its style
            output = yield from waiting(lambda stop: studio.text_to_music(
                prompt, melody=audio, **composing.pick(settings), stop=stop), 3)
            path, params = _saved(studio, output, format)
            yield path, params.get("melody_pitch_classes", ""), params
            return
        if mode != "continue":
            raise ValueError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
        output = yield from waiting(lambda stop: studio.continue_music(
            audio, prompt, **settings, model=client_model(model), stop=stop), 3)
        path, params = _saved(studio, output, format)
        yield path, "", params

    mode.change(show, mode, [continuing, translating, heard], queue=False, api_visibility="private")
    inputs = [audio, mode, prompt, *parameters.values(), format, model, keep_voice]
    _stoppable(stop, run.click(audio_to_audio, inputs, [result, heard, recipe], api_name="audio_to_audio", **gpu))
    named = {"audio": audio, "prompt": prompt, **parameters, "keep_voice": keep_voice}
    return TabParts("audio_to_audio", ("continue_music", "translate_speech"), named, {"audio": result})

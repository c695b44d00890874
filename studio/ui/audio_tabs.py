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
from studio.ui.fields import Number, Radio, Slider, default
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
    "aud_speaking_rate": ("Speaking rate (1 = normal)", "Débit (1 = normal)"),
    "aud_pause": ("Pause between sentences (s)", "Pause entre les phrases (s)"),
    "aud_seed": ("Seed (-1 = random)", "Graine (-1 = aléatoire)"),
    "aud_format": ("File format", "Format du fichier"),
    "aud_settings": ("Settings", "Réglages"),
    "aud_speak": ("Speak", "Lire à voix haute"),
    "aud_result": ("Result", "Résultat"),
    "aud_recipe": ("Recipe", "Recette"),
    "aud_input": ("Audio (upload or record)", "Audio (fichier ou micro)"),
    "aud_task": ("Task (translate: into English)", "Tâche (traduire : vers l'anglais)"),
    "aud_spoken_language": ("Spoken language (auto = detected)", "Langue parlée (auto = détectée)"),
    "aud_timestamps": ("Timestamps", "Horodatage"),
    "aud_words": ("Word timings (in the JSON and the VTT)", "Horodatage des mots (dans le JSON et le VTT)"),
    "aud_vad": ("Find the speech (Silero VAD): skip pauses, cut windows in them",
                "Trouver la parole (Silero VAD) : sauter les pauses, y couper les fenêtres"),
    "aud_batch_size": ("30 s windows decoded at once", "Fenêtres de 30 s décodées ensemble"),
    "aud_transcribe": ("Transcribe", "Transcrire"),
    "aud_transcript": ("Text", "Texte"),
    "aud_segments": ("Segments", "Segments"),
    "aud_files": ("Subtitles and text (SRT, VTT, TXT, JSON)", "Sous-titres et texte (SRT, VTT, TXT, JSON)"),
    "aud_prompt": ("Describe the music", "Décrivez la musique"),
    "aud_duration": ("Duration (s)", "Durée (s)"),
    "aud_guidance": ("Guidance (1 = off)", "Guidage (1 = aucun)"),
    "aud_temperature": ("Temperature", "Température"),
    "aud_top_k": ("Top-k (0 = all codes)", "Top-k (0 = tous les codes)"),
    "aud_compose": ("Compose", "Composer"),
    "aud_mode": ("Mode", "Mode"),
    "aud_mode_info": ("continue: more of the music; melody: play this tune in the style described; "
                      "translate: the speech said again in another language",
                      "continue : prolonger la musique ; melody : jouer cet air dans le style décrit ; "
                      "translate : redire la parole dans une autre langue"),
    "aud_keep_prompt": ("Start the result with the given audio", "Commencer le résultat par l'audio donné"),
    "aud_target_language": ("Say it in", "Dire en"),
    "aud_run": ("Run", "Lancer"),
    "aud_stop": ("Stop", "Arrêter"),
    "aud_heard": ("Text heard, then spoken", "Texte entendu, puis prononcé"),
}
FORMATS = ["wav", "flac", "mp3"]
MODES = ("continue", "melody", "translate")
SPOKEN_LANGUAGES = ["auto", "en", "fr", "de", "es", "it", "pt", "nl", "pl", "ru", "zh", "ja", "ko", "ar", "hi", "tr"]


def _saved(studio, result, format: str) -> tuple[str, dict]:
    return str(studio.save(result, format=format)[0]), result.params


def _controls(label: str):
    with gr.Row():
        run = gr.Button(t(label), variant="primary", scale=3)
        stop = gr.Button(t("aud_stop"), variant="stop", scale=1)
    return run, stop


def _stoppable(stop, event) -> None:
    stop.click(None, None, None, cancels=[event], queue=False, api_visibility="private")


def _seed_and_format():
    with gr.Row():
        seed = Number(value=-1, precision=0, label=t("aud_seed"))
        format = Radio(FORMATS, value=FORMATS[0], label=t("aud_format"))
    return seed, format


def text_to_speech_tab(studio, gpu: dict) -> TabParts:
    from pipelines.speech import MAX_PAUSE, MAX_RATE, MIN_RATE, TextToSpeech

    call, languages = TextToSpeech.__call__, list(studio.preset.voices())
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
                speaking_rate = Slider(MIN_RATE, MAX_RATE, step=0.05, value=default(studio, "speech", call, "speaking_rate"),
                                       label=t("aud_speaking_rate"))
                pause = Slider(0, MAX_PAUSE, step=0.05, value=default(studio, "speech", call, "pause"), label=t("aud_pause"))
                seed, format = _seed_and_format()
                model = model_dropdown(studio, "speech")
        with gr.Column():
            audio = gr.Audio(label=t("aud_result"), type="filepath", interactive=False)
            recipe = gr.JSON(label=t("aud_recipe"), open=False)
        gr.Examples([["Hello! This studio reads text aloud.", "en"], ["Bonjour ! Ce studio lit le texte à voix haute.", "fr"]],
                    inputs=[text, language])

    @guard
    @gpu_task(60)
    def text_to_speech(text, language, speaking_rate, pause, seed, format, model=None, voice=None, voice_recording=None,
                       reference_text=None, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="loading the voice")
        # The voices of the preset answer for their languages; another model only when one is picked
        # (a restored clone recipe names the clone model, which reads no text without its recording).
        preset_models = [*studio.preset.voices().values(), studio.preset.sections.get("speech", {}).get("clone")]
        chosen = None if model in preset_models else client_model(model)
        if voice_recording:  # a recording clones its voice with the preset's clone model: its own pace, no model pick
            speech = dict(voice=voice_recording, reference_text=reference_text or None)
        else:
            speech = dict(voice=voice_name(studio, voice), speaking_rate=speaking_rate, pause=pause, model=chosen)
        result = yield from waiting(lambda stop: studio.text_to_speech(text, language=language, seed=seed, stop=stop,
                                                                       **speech), 2)
        yield _saved(studio, result, format)

    fields = [text, language, speaking_rate, pause, seed, format, model, voice, voice_recording, reference_text]
    _stoppable(stop, run.click(text_to_speech, fields, [audio, recipe], api_name="text_to_speech", **gpu))
    inputs = {"text": text, "language": language, "voice": voice, "reference_text": reference_text,
              "speaking_rate": speaking_rate, "pause": pause, "seed": seed, "model": model}
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
    from pipelines.transcribe import MAX_BATCH, TASKS, SpeechToText

    call = SpeechToText.__call__
    with gr.Tab(t("tab_stt"), id="speech_to_text"), gr.Row():
        with gr.Column():
            audio = gr.Audio(label=t("aud_input"), sources=["upload", "microphone"], type="filepath")
            task = Radio(list(TASKS), value=default(studio, "transcribe", call, "task"), label=t("aud_task"))
            language = gr.Dropdown(SPOKEN_LANGUAGES, value=default(studio, "transcribe", call, "language", "auto"),
                                   allow_custom_value=True, label=t("aud_spoken_language"))
            run, stop = _controls("aud_transcribe")
            with gr.Accordion(t("aud_settings"), open=False):
                timestamps = gr.Checkbox(value=bool(default(studio, "transcribe", call, "timestamps")), label=t("aud_timestamps"))
                batch_size = Slider(1, MAX_BATCH, step=1, value=default(studio, "transcribe", call, "batch_size"),
                                    label=t("aud_batch_size"))
                vad = gr.Checkbox(value=default(studio, "transcribe", call, "vad"), label=t("aud_vad"))
                words = gr.Checkbox(value=default(studio, "transcribe", call, "timestamps") == "word",
                                    label=t("aud_words"))
                model = model_dropdown(studio, "transcribe")
            spoken = examples.speech()
            if spoken:
                gr.Examples([[spoken, "transcribe"], [spoken, "translate"]], inputs=[audio, task])
        with gr.Column():
            text = gr.Textbox(label=t("aud_transcript"), lines=6, interactive=False)
            segments = gr.Dataframe(headers=["start", "end", "text"], label=t("aud_segments"), interactive=False)
            files = gr.File(label=t("aud_files"), file_count="multiple", interactive=False)
            recipe = gr.JSON(label=t("aud_recipe"), open=False)

    @guard
    @gpu_task(180)
    def speech_to_text(audio, task, language, timestamps, batch_size, vad=None, words=False, model=None,
                       progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="reading the audio")
        transcript = yield from waiting(lambda stop: studio.speech_to_text(
            audio, task=task, language=language, timestamps="word" if words else timestamps,
            batch_size=batch_size, vad=vad, model=client_model(model), stop=stop), 4)
        paths = studio.save(transcript)
        rows = [[start, end, words] for start, end, words in transcript.segments]
        yield transcript.text, rows, [str(p) for p in paths], transcript.params

    _stoppable(stop, run.click(speech_to_text, [audio, task, language, timestamps, batch_size, vad, words, model],
                               [text, segments, files, recipe], api_name="speech_to_text", **gpu))
    inputs = {"audio": audio, "language": language, "timestamps": timestamps, "batch_size": batch_size, "vad": vad,
              "model": model}
    return TabParts("speech_to_text", ("speech_to_text",), inputs, {"text": text})


def _music_settings(studio, call):
    from pipelines.music import MAX_DURATION, MAX_GUIDANCE, MAX_TEMPERATURE, MIN_DURATION

    duration = Slider(MIN_DURATION, MAX_DURATION, step=0.5, value=default(studio, "music", call, "duration"),
                      label=t("aud_duration"))
    with gr.Accordion(t("aud_settings"), open=False):
        with gr.Row():
            guidance = Slider(1, MAX_GUIDANCE, step=0.5, value=default(studio, "music", call, "guidance"), label=t("aud_guidance"))
            temperature = Slider(0.05, MAX_TEMPERATURE, step=0.05, value=default(studio, "music", call, "temperature"),
                                 label=t("aud_temperature"))
        top_k = Slider(0, 2048, step=1, value=default(studio, "music", call, "top_k"), label=t("aud_top_k"))
        seed, format = _seed_and_format()
        model = model_dropdown(studio, "music")
    return duration, guidance, temperature, top_k, seed, format, model


def text_to_music_tab(studio, gpu: dict) -> TabParts:
    from pipelines.music import TextToMusic

    with gr.Tab(t("tab_t2m"), id="text_to_music"), gr.Row():
        with gr.Column():
            prompt = gr.Textbox(label=t("aud_prompt"), lines=3, placeholder="calm piano with soft rain, lo-fi")
            run, stop = _controls("aud_compose")
            duration, guidance, temperature, top_k, seed, format, model = _music_settings(studio, TextToMusic.__call__)
        with gr.Column():
            audio = gr.Audio(label=t("aud_result"), type="filepath", interactive=False)
            recipe = gr.JSON(label=t("aud_recipe"), open=False)
        gr.Examples([["calm piano with soft rain, lo-fi"], ["80s synth pop with a driving bass line"]], inputs=[prompt])

    @guard
    @gpu_task(180)
    def text_to_music(prompt, duration, guidance, temperature, top_k, seed, format, model=None,
                      progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="loading the music model")
        result = yield from waiting(lambda stop: studio.text_to_music(prompt, duration=duration, guidance=guidance,
                                                                      temperature=temperature, top_k=top_k, seed=seed,
                                                                      model=client_model(model), stop=stop), 2)
        yield _saved(studio, result, format)

    _stoppable(stop, run.click(text_to_music, [prompt, duration, guidance, temperature, top_k, seed, format, model],
                               [audio, recipe], api_name="text_to_music", **gpu))
    inputs = {"prompt": prompt, "duration": duration, "guidance": guidance, "temperature": temperature, "top_k": top_k,
              "seed": seed}
    return TabParts("text_to_music", ("text_to_music",), inputs, {"audio": audio})


def audio_to_audio_tab(studio, gpu: dict) -> TabParts:
    from pipelines.music import TextToMusic

    languages = list(studio.preset.voices())
    with gr.Tab(t("tab_a2a"), id="audio_to_audio"), gr.Row():
        with gr.Column():
            audio = gr.Audio(label=t("aud_input"), sources=["upload", "microphone"], type="filepath")
            mode = Radio(list(MODES), value=MODES[0], label=t("aud_mode"), info=t("aud_mode_info"))
            with gr.Group(visible=True) as continuing:
                prompt = gr.Textbox(value="", label=t("aud_prompt"), lines=2, placeholder="add drums and bass")
                keep_prompt = gr.Checkbox(value=default(studio, "music", TextToMusic.continue_audio, "keep_prompt"),
                                          label=t("aud_keep_prompt"))
            with gr.Group(visible=False) as translating:
                language = gr.Dropdown(languages, value=languages[0] if languages else None, label=t("aud_target_language"),
                                       allow_custom_value=True)
                keep_voice = gr.Checkbox(value=False, label=t("aud_keep_voice"))
            run, stop = _controls("aud_run")
            duration, guidance, temperature, top_k, seed, format, model = _music_settings(studio, TextToMusic.continue_audio)
            gr.Examples([[examples.melody(), "continue", "add soft drums and a bass line"]], inputs=[audio, mode, prompt])
        with gr.Column():
            result = gr.Audio(label=t("aud_result"), type="filepath", interactive=False)
            heard = gr.Textbox(label=t("aud_heard"), lines=4, interactive=False)
            recipe = gr.JSON(label=t("aud_recipe"), open=False)

    def show(chosen):
        return gr.Group(visible=chosen != "translate"), gr.Group(visible=chosen == "translate")

    @guard
    @gpu_task(180)
    def audio_to_audio(audio, mode, prompt, duration, keep_prompt, language, guidance, temperature, top_k, seed, format,
                       model=None, keep_voice=False, progress=gr.Progress(track_tqdm=True)):
        progress(0, desc="reading the audio")
        if mode == "translate":
            output = yield from waiting(lambda stop: studio.translate_speech(audio, language=language, seed=seed,
                                                                             keep_voice=bool(keep_voice), stop=stop), 3)
            path, params = _saved(studio, output, format)
            yield path, f"{params['transcript']}\n→ {params['text']}", params
            return
        if mode == "melody":  # the given audio is the tune, the prompt its style
            output = yield from waiting(lambda stop: studio.text_to_music(
                prompt, melody=audio, duration=duration, guidance=guidance, temperature=temperature,
                top_k=top_k, seed=seed, stop=stop), 3)
            path, params = _saved(studio, output, format)
            yield path, params.get("melody_pitch_classes", ""), params
            return
        if mode != "continue":
            raise ValueError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
        output = yield from waiting(lambda stop: studio.continue_music(
            audio, prompt, duration=duration, guidance=guidance, temperature=temperature, top_k=top_k, seed=seed,
            keep_prompt=keep_prompt, model=client_model(model), stop=stop), 3)
        path, params = _saved(studio, output, format)
        yield path, "", params

    mode.change(show, mode, [continuing, translating], queue=False, api_visibility="private")
    inputs = [audio, mode, prompt, duration, keep_prompt, language, guidance, temperature, top_k, seed, format, model,
              keep_voice]
    _stoppable(stop, run.click(audio_to_audio, inputs, [result, heard, recipe], api_name="audio_to_audio", **gpu))
    named = {"audio": audio, "prompt": prompt, "duration": duration, "keep_prompt": keep_prompt, "language": language,
             "keep_voice": keep_voice,
             "guidance": guidance, "temperature": temperature, "top_k": top_k, "seed": seed}
    return TabParts("audio_to_audio", ("continue_music", "translate_speech"), named, {"audio": result})

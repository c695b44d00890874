"""`POST /v1/audio/speech`, `/v1/audio/transcriptions` and `/v1/audio/translations`.

Speech: the preset's voices, named by language ("en", "fr"), as WAV, FLAC or MP3
with the recipe in the file's tags (the file saved in the outputs folder, as
everywhere). Transcriptions and translations take a multipart `file` and answer
json, text, srt, vtt or verbose_json (with segments); translations are Whisper's
own, into English.
"""

from __future__ import annotations

import tempfile
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict

from studio.serving.openai_api import models, uploads
from studio.serving.openai_api.errors import bad_field

router = APIRouter()

SPEECH_FORMATS = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac"}
TEXT_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
SPEECH_ALIASES = {"text": "input", "speaking_rate": "speed", "language": "voice"}
HEARING_ALIASES = {"audio": "file"}


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    input: str
    voice: str | dict = "default"
    response_format: str = "mp3"
    speed: float | None = None
    seed: int | None = None       # the studio's own
    pause: float | None = None    # the studio's own: seconds between sentences
    instructions: str | None = None


@router.post("/audio/speech")
async def speech(body: SpeechRequest, request: Request):
    ctx = request.app.state.ctx
    model = models.pick(ctx.studio, "speech", body.model)
    if body.response_format not in SPEECH_FORMATS:
        raise bad_field("response_format", f"response_format must be one of {', '.join(SPEECH_FORMATS)}, "
                        f"got {body.response_format!r}")
    if body.instructions:
        raise bad_field("instructions", "instructions are not served: the preset's voices read the text as it is")
    language = _voice(ctx.studio, body.voice, model, body.model)
    result = await ctx.run(ctx.studio.text_to_speech, body.input, language=language, aliases=SPEECH_ALIASES,
                           **_settings(ctx.studio, body), **models.keywords(ctx.studio, "speech", model))
    [path] = await ctx.run(ctx.studio.save, result, format=body.response_format)
    return Response(path.read_bytes(), media_type=SPEECH_FORMATS[body.response_format],
                    headers={"Content-Disposition": f'inline; filename="{path.name}"'})


def _settings(studio, body: SpeechRequest) -> dict[str, Any]:
    """The voice's settings the request gives, under the studio's names (SPEECH_ALIASES: `speed` is its rate)."""
    fields = {SPEECH_ALIASES.get(name, name): name for name in studio.settings("text_to_speech").names()}
    return {name: getattr(body, field) for field, name in fields.items() if field in SpeechRequest.model_fields}


def _voice(studio, voice: Any, model: str, asked: str) -> str | None:
    voices = studio.preset.voices()
    if isinstance(voice, dict):
        voice = voice.get("id")
    if voice is not None and not isinstance(voice, str):  # {"id": [...]}: unhashable, a 400 rather than a 500
        raise bad_field("voice", f"voice must be a language code such as 'en' (or {{\"id\": \"en\"}}), got {voice!r}")
    if voice in (None, "", "default"):
        return None if asked == "default" else next((code for code, m in voices.items() if m == model), None)
    if voice not in voices:
        raise bad_field("voice", f"voice must be one of the preset's voices, by language: {', '.join(voices)} "
                        f"(or 'default'), got {voice!r}")
    if asked != "default" and voices[voice] != model:
        raise bad_field("voice", f"voice {voice!r} is spoken by {voices[voice]!r}, not by model {model!r}")
    return voice


@router.post("/audio/transcriptions")
async def transcriptions(request: Request):
    return await _hear(request, "transcribe")


@router.post("/audio/translations")
async def translations(request: Request):
    return await _hear(request, "translate")


async def _hear(request: Request, task: str):
    ctx = request.app.state.ctx
    form = await uploads.read_form(request, ctx.max_upload)
    route = "transcriptions" if task == "transcribe" else "translations"
    chosen = models.keywords(ctx.studio, route, models.pick(ctx.studio, route, uploads.text(form, "model")))
    file = uploads.upload(form, "file")
    response_format = uploads.text(form, "response_format", "json")
    if response_format not in TEXT_FORMATS:
        raise bad_field("response_format", f"response_format must be one of {', '.join(TEXT_FORMATS)}, got {response_format!r}")
    if uploads.text(form, "prompt"):
        raise bad_field("prompt", "prompt is not served: Whisper here decodes without a text prompt")
    if uploads.number(form, "temperature") not in (None, 0):
        raise bad_field("temperature", "temperature must be 0: Whisper here decodes greedily")
    granularities = uploads.texts(form, "timestamp_granularities")
    if set(granularities) - {"segment", "word"}:
        raise bad_field("timestamp_granularities", f"timestamp_granularities may hold 'segment' and 'word', got {granularities}")
    timestamps = response_format in ("srt", "vtt", "verbose_json")
    if "word" in granularities:
        if response_format != "verbose_json":
            raise bad_field("timestamp_granularities", "word timestamps come with response_format verbose_json")
        timestamps = "word"
    language = uploads.text(form, "language", "auto")
    with tempfile.TemporaryDirectory(prefix="studio-upload-") as folder:
        path = await uploads.spooled(file, folder)
        transcript = await ctx.run(ctx.studio.speech_to_text, str(path), task=task, language=language,
                                   timestamps=timestamps, aliases=HEARING_ALIASES, **chosen)
    await ctx.run(ctx.studio.save, transcript)
    if response_format == "json":
        return {"text": transcript.text}
    if response_format == "text":
        return PlainTextResponse(transcript.text)
    if response_format == "srt":
        return PlainTextResponse(transcript.to_srt())
    if response_format == "vtt":
        return PlainTextResponse(transcript.to_vtt(), media_type="text/vtt")
    segments = [{"id": i, "seek": 0, "start": start, "end": end, "text": text, "tokens": [], "temperature": 0.0}
                for i, (start, end, text) in enumerate(transcript.segments)]
    verbose = {"task": "transcribe" if task == "transcribe" else "translate", "language": transcript.language,
               "duration": transcript.params.get("audio_seconds"), "text": transcript.text, "segments": segments}
    if timestamps == "word":
        verbose["words"] = [{"word": word, "start": start, "end": end} for start, end, word in transcript.word_list()]
    return verbose

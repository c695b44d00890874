"""Which voice speaks: a `voice=` name turned into the language, the model and the speaker.

A voice is named by
- a language code of the preset's `[speech.voices]` ("en", "fr"),
- the model of one of those voices or of `[speech] alternatives` ("facebook/mms-tts-eng"),
- a speaker of a multi-speaker VITS model: `"<model>#<index>"` (the model as above, or a
  language code standing for its model), or the index alone for the voice that
  `language` or `model` picks.
The recipe records the voice by that name, with the model as the user named it.
How many speakers a model holds is read from its `config.json` on disk (a tiny
model, a models-folder model, the Hugging Face cache); a model not on disk yet is
checked by the voice itself once it loads.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

from pipelines import checks
from pipelines.results import AudioResult
from pipelines.speech import speaker_count

MAX_NAME = 300
CLONED = "recording"  # the recipe's voice when a recording was cloned: the recording itself is never kept
# A voice name never ends so; a path that does is a recording to clone, even a missing one (load_audio says so).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".webm", ".mp4")


@dataclass(frozen=True)
class Voice:
    language: str  # the recipe's language code
    model: str  # what loads (`model_ref`'s answer)
    speaker: int | None  # a multi-speaker model's speaker; None for one-speaker voices
    name: str  # what the recipe's `voice` says


def is_recording(studio, voice) -> bool:
    """Whether `voice` is audio to clone (a path, a (rate, samples) tuple, an AudioResult) rather than a name."""
    if isinstance(voice, (AudioResult, tuple, os.PathLike)):
        return True
    if not isinstance(voice, str) or not voice.strip() or voice.strip() in available(studio, expand=False):
        return False
    return voice.strip().lower().endswith(AUDIO_SUFFIXES) or os.path.isfile(voice)


def speakers_on_disk(model: str) -> int | None:
    """How many speakers `model` (as `model_ref` returned it) holds, when its config is on disk."""
    from studio.library.catalog import hub_snapshot

    folder = Path(model)
    if not folder.is_dir():
        folder = hub_snapshot(model) if model.count("/") == 1 else None
    try:
        return speaker_count(json.loads((folder / "config.json").read_text(encoding="utf-8"))) if folder else None
    except (OSError, ValueError):
        return None


def named_models(studio) -> list[str]:
    """The preset's voice models and speech alternatives, in the preset's order."""
    return list(dict.fromkeys([*studio.preset.voices().values(), *studio.preset.alternatives("speech")]))


def available(studio, expand: bool = True) -> list[str]:
    """Every voice name the preset offers; `expand` False writes a model's speakers as one range."""
    names = [*studio.preset.voices(), *named_models(studio)]
    for model in named_models(studio):
        count = speakers_on_disk(studio.model_ref("speech", model)) or 1
        if count > 1:
            names += [f"{model}#{i}" for i in range(count)] if expand else [f"{model}#0 … {model}#{count - 1}"]
    return list(dict.fromkeys(names))


def resolve(studio, voice, language: str | None, model: str | None) -> Voice:
    """The voice that speaks for `voice` (None: the one `language` and `model` pick)."""
    if voice is None or voice == "":
        code, loaded = studio._voice(language, model)
        return _with_speaker(studio, code, loaded, None, code if model in (None, "") else _shown(studio, loaded))
    if isinstance(voice, Integral) and not isinstance(voice, bool):
        code, loaded = studio._voice(language, model)
        return _with_speaker(studio, code, loaded, int(voice), None)
    if not isinstance(voice, str):
        raise ValueError(f"voice must be a name ({_listing(studio)}) or a speaker index, got {type(voice).__name__}")
    name = checks.text("voice", voice, max_chars=MAX_NAME)
    if name == CLONED:
        raise ValueError(f"voice {CLONED!r} stands for a cloned recording, which recipes do not keep; "
                         "give the recording itself as voice (in the UI: Clone a voice from a recording)")
    if name.isdigit():
        code, loaded = studio._voice(language, model)
        return _with_speaker(studio, code, loaded, int(name), None, name)
    base, hashed, index = name.rpartition("#") if "#" in name else (name, "", "")
    if hashed and not index.isdigit():
        raise ValueError(f"voice {name!r} names speaker {index!r}; write a speaker index, e.g. {base}#0")
    code, loaded, canonical = _named(studio, base, language)
    return _with_speaker(studio, code, loaded, int(index) if hashed else None, canonical, name)


def _named(studio, base: str, language: str | None) -> tuple[str, str, str]:
    """(language code, model, the voice's name) of a voice name without its speaker."""
    voices = studio.preset.voices()
    code = next((c for c in voices if c.lower() == base.lower()), None)
    if code is not None:
        return code, studio.model_ref("speech", voices[code]), code
    if base in named_models(studio):
        # The language it speaks for in the preset, unless the caller says which (a multilingual voice).
        code = language or next((c for c, m in voices.items() if m == base), None) or next(iter(voices), "en")
        return checks.text("language", code, max_chars=32), studio.model_ref("speech", base), base
    raise ValueError(f"unknown voice {base!r}; choose one of: {_listing(studio)}")


def _with_speaker(studio, code: str, loaded: str, speaker: int | None, name: str | None, asked=None) -> Voice:
    """The voice, its speaker checked against the model's count; `asked` is the voice as given, for messages."""
    count = speakers_on_disk(loaded)
    shown = _shown(studio, loaded)
    if speaker is not None and count == 1:
        raise ValueError(f"voice {asked if asked is not None else speaker!r}: model {shown!r} has one speaker; choose one of: {_listing(studio)}")
    if speaker is not None and count and not 0 <= speaker < count:
        raise ValueError(f"voice {asked if asked is not None else speaker!r}: model {shown!r} has {count} speakers, {shown}#0 to {shown}#{count - 1}")
    if speaker is None and count and count > 1:
        speaker = 0  # a multi-speaker model's first speaker, named so in the recipe
    if speaker is not None:
        name = f"{shown}#{speaker}"
    return Voice(code, loaded, speaker, name or code)


def _shown(studio, loaded: str) -> str:
    """The model as the user named it (a tiny or hub name, never a server path)."""
    choice = studio._choices.get(loaded)
    return choice.name if choice is not None else loaded


def _listing(studio) -> str:
    return ", ".join(available(studio, expand=False)) + " (or a speaker index of a multi-speaker model)"

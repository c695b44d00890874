"""The tiny MMS-TTS voice as MMS ships its Korean one (mms-tts-kor): Latin letters, `is_uroman`.

MMS voices of non-Latin scripts read romanized text: their vocab is the Latin
alphabet and their tokenizer config sets `is_uroman = true` and the language code.
"""

from __future__ import annotations

import json
from pathlib import Path

from studio.tiny.tts import build as build_voice


def build(folder: Path) -> None:
    build_voice(folder)
    config_file = folder / "tokenizer_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config.update(is_uroman=True, language="kor")
    config_file.write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")

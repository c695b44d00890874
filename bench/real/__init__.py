"""Random-weight models with the real default architectures (the cpu preset's models).

Random weights cost the same compute as trained ones. Each model keeps the
architecture of its real counterpart but the vocabulary of the matching tiny
model's tokenizer (copied from it), so every output decodes; a real vocabulary
only makes the final projection larger, for the studio and the raw call alike.
Built once into the studio cache (`STUDIO_CACHE`/bench) like the tiny models.
"""

from __future__ import annotations

from pathlib import Path

from studio import tiny

MODULES = {
    "sd": "bench.real.sd",  # stabilityai/sd-turbo (SD 2.1 architecture)
    "chat": "bench.real.chat",  # HuggingFaceTB/SmolLM2-360M-Instruct
    "whisper": "bench.real.whisper",  # openai/whisper-base
    "tts": "bench.real.tts",  # facebook/mms-tts-eng
    "musicgen": "bench.real.musicgen",  # facebook/musicgen-small
}


def ensure(name: str) -> Path:
    return tiny.build_once(tiny.cache_root() / "bench", name, MODULES[name])


def copy_files(source: Path, target: Path, names: list[str]) -> None:
    import shutil

    for name in names:
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name)
        elif (source / name).exists():
            shutil.copy(source / name, target / name)

"""Model presets: which model serves which task, and per-task default overrides.

A preset is a TOML file in `presets/models/` (or any path to one). Defaults live
in the wrappers' signatures; a preset's `defaults` tables only override them.
A `model_defaults` table holds, per model name, the overrides that apply when
that model runs (FLUX.1-schnell's 4 steps): they win over the section's
`defaults`, and a value the caller passes wins over both.
Choice: the `preset` argument, else `$STUDIO_PRESET`, else `zerogpu` on a
ZeroGPU Space, `gpu` when CUDA is available and `cpu` otherwise.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRESETS_DIR = Path(__file__).resolve().parents[2] / "presets" / "models"
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

# section -> key -> expected type; "defaults" and "voices" are tables; "alternatives" lists
# other models offered for the task (hub ids or models-folder names) beside the default;
# "model_defaults" is a table of tables: model name -> that model's own defaults.
SCHEMA: dict[str, dict[str, type]] = {
    "runtime": {"device": str, "dtype": str, "memory_budget": str},
    "image": {"model": str, "alternatives": list, "defaults": dict, "model_defaults": dict},
    "upscale": {"model": str, "alternatives": list, "defaults": dict, "model_defaults": dict},
    "text": {"model": str, "alternatives": list, "defaults": dict, "model_defaults": dict},
    # "clone": the model speaking in the voice of a recording (text_to_speech(voice=<audio>)), a CSM
    "speech": {"voices": dict, "clone": str, "alternatives": list, "defaults": dict, "model_defaults": dict},
    "transcribe": {"model": str, "alternatives": list, "defaults": dict, "model_defaults": dict},
    "music": {"model": str, "alternatives": list, "defaults": dict, "model_defaults": dict},
    "melody": {"model": str, "alternatives": list},  # MusicGen Melody, for text_to_music(..., melody=); shares [music.defaults]
    "controlnet": {"alternatives": list},  # the ControlNets the image tabs offer (any other can be named)
}
DEFAULT_TYPES = (str, int, float, bool)


def available() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


@dataclass(frozen=True)
class Preset:
    name: str
    path: Path
    description: str = ""
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def model(self, section: str) -> str:
        model = self.sections.get(section, {}).get("model")
        if not model:
            raise ValueError(f"preset {self.name!r} ({self.path}) names no model for {section}; add [{section}] model = \"...\"")
        return model

    def clone(self) -> str:
        """The model that speaks in the voice of a recording (`[speech] clone`)."""
        model = self.sections.get("speech", {}).get("clone")
        if not model:
            raise ValueError(f'voice: preset {self.name!r} has no model to clone a voice with; add [speech] clone = "sesame/csm-1b"')
        return model

    def alternatives(self, section: str) -> list[str]:
        return list(self.sections.get(section, {}).get("alternatives", []))

    def voices(self) -> dict[str, str]:
        return dict(self.sections.get("speech", {}).get("voices", {}))

    def defaults(self, section: str) -> dict[str, Any]:
        return dict(self.sections.get(section, {}).get("defaults", {}))

    def model_defaults(self, section: str) -> dict[str, dict[str, Any]]:
        """`[section.model_defaults."name"]` tables: model name (as the preset writes it) -> its defaults."""
        return {name: dict(table) for name, table in self.sections.get(section, {}).get("model_defaults", {}).items()}

    def runtime(self, key: str, fallback: str | None = None) -> str | None:
        return self.sections.get("runtime", {}).get(key, fallback)

    def check_defaults(self, section: str, accepted: set[str]) -> None:
        """Raise if `[section.defaults]` or a model's defaults name a setting the task does not take."""
        tables = {f"[{section}.defaults]": self.defaults(section)}
        tables.update({f'[{section}.model_defaults."{name}"]': table for name, table in self.model_defaults(section).items()})
        for where, table in tables.items():
            unknown = sorted(set(table) - accepted)
            if unknown:
                raise ValueError(
                    f"preset file {self.path}: {where} has unknown key {unknown[0]!r}; "
                    f"expected one of: {', '.join(sorted(accepted))}"
                )


def resolve(preset: str | os.PathLike | None = None, *, cuda_available: bool | None = None) -> Preset:
    """The preset named by the argument, `$STUDIO_PRESET` or the hardware."""
    if preset is not None and not isinstance(preset, (str, os.PathLike)):
        raise ValueError(f"preset must be a name ({', '.join(available())}) or a path to a .toml file, got {type(preset).__name__}")
    choice = preset if preset not in (None, "") else os.environ.get("STUDIO_PRESET") or None
    if choice in (None, "auto") and os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true", "yes"):
        choice = "zerogpu"
    if choice in (None, "auto"):
        if cuda_available is None:
            import torch

            cuda_available = torch.cuda.is_available()
        choice = "gpu" if cuda_available else "cpu"
    text = os.fspath(choice)
    if NAME.match(text):
        path = PRESETS_DIR / f"{text}.toml"
        if not path.is_file():
            raise ValueError(f"unknown preset {text!r}; available: {', '.join(available())}, or a path to a .toml file")
        return load(path, name=text)
    if text.endswith(".toml"):
        return load(Path(text).expanduser(), name=Path(text).stem)
    raise ValueError(f"unknown preset {text!r}; available: {', '.join(available())}, or a path to a .toml file")


def load(path: Path, name: str) -> Preset:
    if not path.is_file():
        raise ValueError(f"preset file {path} does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"preset file {path} is not valid TOML: {error}") from error
    description = data.pop("description", "")
    if not isinstance(description, str):
        raise ValueError(f"preset file {path}: key 'description' must be a string, got {type(description).__name__}")
    for section, table in data.items():
        _check_section(path, section, table)
    return Preset(name=name, path=path, description=description, sections=data)


def _check_section(path: Path, section: str, table: Any) -> None:
    if section not in SCHEMA:
        raise ValueError(f"preset file {path}: unknown section or key {section!r}; expected one of: description, {', '.join(SCHEMA)}")
    if not isinstance(table, dict):
        raise ValueError(f"preset file {path}: {section!r} must be a table ([{section}]), got {type(table).__name__}")
    for key, value in table.items():
        expected = SCHEMA[section].get(key)
        if expected is None:
            raise ValueError(f"preset file {path}: unknown key {key!r} in [{section}]; expected one of: {', '.join(SCHEMA[section])}")
        if not isinstance(value, expected):
            raise ValueError(f"preset file {path}: [{section}] {key} must be a {expected.__name__}, got {type(value).__name__}")
        if key == "voices":
            for language, model in value.items():
                if not isinstance(model, str) or not model:
                    raise ValueError(f"preset file {path}: [speech.voices] {language} must be a model id or folder (string)")
        if key == "alternatives" and not all(isinstance(v, str) and v for v in value):
            raise ValueError(f"preset file {path}: [{section}] alternatives must be a list of model ids or names (strings)")
        if key == "defaults":
            _check_defaults_table(path, f"[{section}.defaults]", value)
        if key == "model_defaults":
            for model, table in value.items():
                where = f'[{section}.model_defaults."{model}"]'
                if not model.strip():
                    raise ValueError(f"preset file {path}: {where} needs a model name (a hub id or a models-folder name)")
                if not isinstance(table, dict):
                    raise ValueError(
                        f"preset file {path}: [{section}.model_defaults] {model} must be a table named after a model, "
                        f'got {type(table).__name__}; write [{section}.model_defaults."org/name"] then {model} = ... under it'
                    )
                _check_defaults_table(path, where, table)


def _check_defaults_table(path: Path, where: str, table: dict) -> None:
    for name, default in table.items():
        if not isinstance(default, DEFAULT_TYPES):
            raise ValueError(f"preset file {path}: {where} {name} must be a string, number or boolean, got {type(default).__name__}")

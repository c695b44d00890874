"""The Text → Text modes: prompt templates read from `presets/prompts/text_modes.toml`.

The templates are data so they can be tuned (or translated) without touching
code; this module only checks the file and fills the slots. See the TOML file
for the slots and how a free instruction enters a prompt.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines import checks

PROMPTS_FILE = Path(__file__).resolve().parent.parent / "presets" / "prompts" / "text_modes.toml"
SLOTS = {"text", "language", "instruction"}
MODE_KEYS = {"description": str, "system": str, "prompt": str, "instruction": str, "requires_instruction": bool}


@dataclass(frozen=True)
class Mode:
    name: str
    description: str = ""
    system: str = ""
    prompt: str = ""  # "" means: continue the text as written, no chat template
    instruction: str = ""  # how the free instruction fills the {instruction} slot
    requires_instruction: bool = False


@dataclass(frozen=True)
class TextModes:
    modes: dict[str, Mode]
    languages: dict[str, str]  # code -> English name
    path: Path = field(default=PROMPTS_FILE)

    def mode(self, value: Any) -> Mode:
        """The mode named `value` (any case), or a ValueError listing the modes."""
        return self.modes[checks.choice("mode", value, self.modes)]

    def language(self, value: Any) -> str:
        """The code of the language given by code or English name ("fr", "French")."""
        if isinstance(value, str):
            for code, name in self.languages.items():
                if value.strip().lower() in (code.lower(), name.lower()):
                    return code
        return checks.choice("target_language", value, self.languages)  # raises, listing the codes

    def messages(self, mode: Mode, text: str, language: str, instruction: str) -> list[dict[str, str]]:
        """The chat messages asking `mode` of the model (for a mode with a prompt)."""
        slot = mode.instruction.format(instruction=instruction) if instruction else ""
        prompt = mode.prompt.format(text=text, language=self.languages[language], instruction=slot)
        system = [{"role": "system", "content": mode.system}] if mode.system else []
        return [*system, {"role": "user", "content": prompt}]


def load_modes(path: str | Path | None = None) -> TextModes:
    """Read and check the mode templates (default: the studio's own file)."""
    path = Path(path) if path is not None else PROMPTS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"text modes file {path} could not be read: {error}") from error
    default_instruction = data.get("instruction", " {instruction}")
    _check_template(path, "instruction", default_instruction, {"instruction"})
    modes = {}
    for name, table in data.get("modes", {}).items():
        if not isinstance(table, dict):
            raise ValueError(f"text modes file {path}: [modes.{name}] must be a table")
        for key, value in table.items():
            if key not in MODE_KEYS or not isinstance(value, MODE_KEYS[key]):
                raise ValueError(f"text modes file {path}: [modes.{name}] {key} is unknown or not a {MODE_KEYS.get(key, str).__name__}")
        mode = Mode(name=name, **{"instruction": default_instruction, **table})
        if mode.prompt:
            _check_template(path, f"modes.{name}.prompt", mode.prompt, SLOTS)
            _check_template(path, f"modes.{name}.instruction", mode.instruction, {"instruction"})
        modes[name] = mode
    languages = data.get("languages", {})
    if not modes or not languages or not all(isinstance(v, str) for v in languages.values()):
        raise ValueError(f"text modes file {path} needs [modes.NAME] tables and a [languages] table of code = name")
    return TextModes(modes=modes, languages=dict(languages), path=path)


def _check_template(path: Path, where: str, template: str, allowed: set[str]) -> None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise ValueError(f"text modes file {path}: {where} is not a valid template ({error})") from error
    unknown = names - allowed
    if unknown:
        raise ValueError(f"text modes file {path}: {where} has unknown slot {{{sorted(unknown)[0]}}}; slots: {', '.join(sorted(allowed))}")

"""Text results as a JSON file carrying the recipe, plus the text itself.

Every output is two files sharing a numbered stem:
- `.json`: `{"format": "studio-text", "recipe": {...}, ...}` with the output:
  a chat's whole `messages` (the conversation given, then the reply: the Chat
  tab reloads it), a text result's `text`, a next-token table's `rows`;
- `.md` (a chat, as a readable transcript) or `.txt` (the text, or the table):
  the output alone, no header. Its recipe is in the `.json` of the same name,
  which `read` finds beside it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from studio import __version__
from studio.outputs import jsontext, slug, write_files

FORMAT = "studio-text"
ROLES = ("system", "user", "assistant")


def conversation(result) -> list[dict[str, str]]:
    """The messages of a chat result: system prompt, the conversation given, the reply."""
    params = result.params
    system = [{"role": "system", "content": params["system_prompt"]}] if params.get("system_prompt") else []
    return [*system, *params.get("messages", []), {"role": "assistant", "content": result.text}]


def _document(result, recipe: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    """The JSON document, the suffix of the text file and its text."""
    document: dict[str, Any] = {"format": FORMAT, "recipe": recipe}
    if recipe.get("task") == "chat":
        document["messages"] = conversation(result)
        transcript = "\n\n".join(f"**{m['role']}**: {m['content']}" for m in document["messages"])
        return document, ".md", transcript + "\n"
    if type(result).__name__ == "TokenTable":
        document["rows"] = [[token, probability] for token, probability in result]
        return document, ".txt", result.text + "\n"
    document["text"] = result.text
    return document, ".txt", result.text


def save(result, folder: Path) -> list[Path]:
    recipe = {**result.params, "studio_version": __version__}
    document, suffix, text = _document(result, recipe)
    task = recipe.get("task", "text")
    seed = f"-{recipe['seed']}" if "seed" in recipe else ""
    subject = recipe.get("text") or next((m["content"] for m in reversed(recipe.get("messages", [])) if m.get("role") == "user"), "")
    writers = {
        ".json": lambda file: file.write(json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")),
        suffix: lambda file: file.write(text.encode("utf-8")),
    }
    return write_files(folder, f"{task}{seed}-{slug(subject)}", writers)


def _load(path: Path) -> dict[str, Any] | None:
    """The document of a JSON file this module wrote, else None."""
    try:
        document = jsontext.loads(path.read_bytes(), repr(path.name))
    except OSError:
        return None
    except jsontext.OverLimit:
        raise
    except ValueError:  # not JSON: not a file this module wrote
        return None
    if isinstance(document, dict) and document.get("format") == FORMAT and isinstance(document.get("recipe"), dict):
        return document
    return None


def read(path: Path) -> dict[str, Any] | None:
    suffix = path.suffix.lower()
    if suffix == ".json":
        document = _load(path)
    elif suffix in (".txt", ".md"):
        sidecar = path.with_suffix(".json")
        document = _load(sidecar) if sidecar.is_file() else None
    else:
        return None
    return document["recipe"] if document else None


def read_conversation(path: str | Path) -> list[dict[str, str]]:
    """The messages of a saved chat (or of any JSON list of {"role", "content"} messages)."""
    path = Path(path)
    try:
        document = jsontext.loads(path.read_bytes(), repr(path.name))
    except OSError as error:
        raise ValueError(f"{path.name!r} could not be read ({error.strerror or error})") from None
    messages = document.get("messages") if isinstance(document, dict) else document
    if not isinstance(messages, list) or not messages:
        raise ValueError(f"{path.name!r} holds no conversation; load a chat saved by the studio (its .json file)")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES or not isinstance(message.get("content"), str):
            raise ValueError(f"{path.name!r}: messages[{i}] must be {{'role': system|user|assistant, 'content': text}}")
    return [{"role": m["role"], "content": m["content"]} for m in messages]

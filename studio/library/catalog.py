"""The model library: what a user can choose for each task, and how a chosen name loads.

Three sources, listed together per task:
- the preset: its model for the task and its `alternatives`;
- the Hugging Face cache: every complete model snapshot, filed by what it is
  (a diffusers pipeline is an image model, a Whisper config a transcriber, ...);
- the models folder (`STUDIO_MODELS`, else `./models`), laid out as
  AUTOMATIC1111's: `Stable-diffusion/` (single `.safetensors` checkpoints and
  diffusers folders), `Lora/`, `embeddings/`, `ControlNet/`, and one folder per
  other task (`Upscale/`, `Text/`, `Speech/`, `Transcribe/`, `Music/`). An
  existing A1111 or Forge `models/` folder works as it is.

A name resolves to a `Choice`: what to load (a hub id or a local path) and what
the recipe records. Recipes never hold a server path: a file of the models
folder is named relative to it, a tiny model by its `tiny:` name, a hub model
by its id (plus the cached revision), any other local folder by its own name.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from studio import tiny

# task -> folders of the models folder that hold its models (A1111's names first)
FOLDERS: dict[str, tuple[str, ...]] = {
    "image": ("Stable-diffusion",),
    "lora": ("Lora", "LyCORIS"),
    "embeddings": ("embeddings",),
    "controlnet": ("ControlNet",),
    "upscale": ("Upscale",),
    "text": ("Text", "LLM"),
    "speech": ("Speech",),
    "transcribe": ("Transcribe",),
    "music": ("Music",),
}
# operation names users may type instead of the task
TASK_ALIASES = {
    "text_to_image": "image", "image_to_image": "image", "vae_latents": "image", "chat": "text", "text_to_text": "text",
    "next_token": "text", "text_to_speech": "speech", "translate_speech": "speech", "speech_to_text": "transcribe",
    "text_to_music": "music", "continue_music": "music", "loras": "lora", "embedding": "embeddings",
    "melody": "music",  # the preset's [melody] model (MusicGen Melody) lives with the music models
}
WEIGHT_SUFFIX = ".safetensors"
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".pkl")
SHORT_HASH = 10  # A1111's "Model hash": the first 10 hex digits of the file's sha256


@dataclass(frozen=True)
class Choice:
    """A resolved model: `load` is what the loader gets, `name` what the recipe records."""

    name: str
    load: str
    revision: str | None = None
    local: bool = False
    single_file: bool = False


@dataclass
class Entry:
    """One row of the library's listing."""

    name: str
    task: str
    source: str  # "preset" | "cache" | "folder"
    downloaded: bool
    default: bool = False
    kind: str = ""  # "checkpoint" (single file) | "folder" | "hub" | "tiny" | "lora" | "embedding"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "task": self.task, "source": self.source, "downloaded": self.downloaded,
                "default": self.default, "kind": self.kind}


MAX_PART, MAX_NAME = 255, 1024  # a file name's limit on common file systems; a path's, with room to spare


def default_models_dir() -> Path:
    return Path(os.environ.get("STUDIO_MODELS") or "models").expanduser()


def task_of(task: str) -> str:
    """`task` or an operation's name -> a library task; unknown names list the tasks."""
    task = TASK_ALIASES.get(task, task)
    if task not in FOLDERS:
        raise ValueError(f"task must be one of {', '.join(FOLDERS)}, got {task!r}")
    return task


def hub_cache() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def hub_revision(repo_id: str, revision: str = "main") -> str | None:
    """The commit the Hugging Face cache holds for `repo_id` (its `refs/main`), or None."""
    ref = hub_cache() / f"models--{repo_id.replace('/', '--')}" / "refs" / revision
    try:
        return ref.read_text().strip() or None
    except OSError:
        return None


def hub_snapshot(repo_id: str) -> Path | None:
    """The cached snapshot folder of `repo_id` when it holds weights, else None."""
    commit = hub_revision(repo_id)
    if commit is None:
        return None
    folder = hub_cache() / f"models--{repo_id.replace('/', '--')}" / "snapshots" / commit
    return folder if folder.is_dir() and holds_weights(folder) else None


def holds_weights(folder: Path) -> bool:
    return any(p.suffix == WEIGHT_SUFFIX for p in folder.rglob("*"))


def what_is(folder: Path) -> str | None:
    """The library task a model folder serves, read from its config files; None if unknown."""
    index = _read_json(folder / "model_index.json")
    if index is not None:
        return "image" if "Pipeline" in str(index.get("_class_name", "")) else None
    config = _read_json(folder / "config.json")
    if config is None:
        return "lora" if any(p.name.endswith(f"lora_weights{WEIGHT_SUFFIX}") for p in folder.glob("*")) else None
    if "ControlNet" in str(config.get("_class_name", "")):
        return "controlnet"
    model_type = str(config.get("model_type", ""))
    by_type = {"whisper": "transcribe", "vits": "speech", "musicgen": "music", "musicgen_melody": "music", "swin2sr": "upscale"}
    if model_type in by_type:
        return by_type[model_type]
    architectures = config.get("architectures") or []
    if any(str(a).endswith(("ForCausalLM", "ForConditionalGeneration")) for a in architectures):
        return "text"
    return None


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class ModelLibrary:
    """The models a `Studio` can use; owned by one `Studio`, nothing global."""

    def __init__(self, preset, models_dir: str | os.PathLike | None = None):
        self.preset = preset
        self.root = Path(models_dir).expanduser() if models_dir else default_models_dir()
        self._hashes: dict[tuple[str, int, int, int], str] = {}
        self._hash_lock = threading.Lock()
        self._tiny: dict[str, str] = {}

    # -- resolving a name -------------------------------------------------------

    def resolve(self, task: str, name: str) -> Choice:
        """What loads for `name` in `task`, and how the recipe names it."""
        task = task_of(task)
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"model must be a hub id (org/name) or a name from the models library, got {name!r}")
        name = name.strip()
        # A longer name is no file a disk can hold (the look-up in the models folder would raise OSError,
        # "File name too long") and no hub id (96 characters a part).
        if len(name) > MAX_NAME or any(len(part) > MAX_PART for part in name.split("/")):
            raise ValueError(f"model name is too long ({len(name):,} characters); a hub id or a models-folder name "
                             f"has at most {MAX_PART} characters between slashes, {MAX_NAME} in all")
        if name.startswith(tiny.PREFIX):
            if name not in self._tiny:  # resolving a tiny model hashes its builder: once is enough
                self._tiny[name] = tiny.resolve(name)
            return Choice(name=name, load=self._tiny[name], local=True)
        found = self._find_local(task, name)
        if found is not None:
            return self._local_choice(found)
        return Choice(name=name, load=name, revision=hub_revision(name) if name.count("/") == 1 else None)

    def names_model(self, task: str, name: str, choice: Choice) -> bool:
        """Whether `name` (as a preset writes it) is the model `choice`: the name its recipe records,
        or, for a models-folder model, one that finds the same file ("dreamshaper_8" for
        "Stable-diffusion/dreamshaper_8.safetensors"). Tiny and hub models have one name each."""
        if name.strip() == choice.name:
            return True
        if not choice.local or choice.name.startswith(tiny.PREFIX) or name.startswith(tiny.PREFIX):
            return False
        found = self._find_local(task_of(task), name.strip())
        return found is not None and os.path.abspath(found) == os.path.abspath(choice.load)

    def _find_local(self, task: str, name: str) -> Path | None:
        path = Path(name).expanduser()
        if path.is_absolute() or name.startswith(("./", "../", "~")):
            return path  # a path given as such is a local model, even a missing one (the loader says so)
        candidates = [self.root / name]
        for folder in FOLDERS[task]:
            base = self.root / folder
            candidates += [base / name, base / f"{name}{WEIGHT_SUFFIX}"]
        for candidate in candidates:
            if candidate.exists():
                return candidate
        for folder in FOLDERS[task]:  # A1111's infotext names a checkpoint by its stem, in any sub-folder
            for candidate in sorted((self.root / folder).rglob(f"{Path(name).name}{WEIGHT_SUFFIX}")):
                return candidate
        if Path(name).exists():
            return Path(name)
        return None

    def _local_choice(self, path: Path) -> Choice:
        return Choice(name=self.display_name(path), load=str(path), local=True, single_file=path.is_file())

    def display_name(self, path: Path) -> str:
        """A local model's name for recipes: relative to the models folder, else its own name."""
        try:  # abspath, not resolve: a checkpoint symlinked into the folder keeps its name there
            return str(PurePosixPath(*Path(os.path.abspath(path)).relative_to(os.path.abspath(self.root)).parts))
        except ValueError:
            return path.name

    # -- hashes -----------------------------------------------------------------

    def sha256(self, path: str | os.PathLike, skip: int = 0) -> str:
        """The sha256 of the file (past its first `skip` bytes), computed once per (path, size, mtime)."""
        stat = os.stat(path)
        key = (str(path), stat.st_size, stat.st_mtime_ns, skip)
        with self._hash_lock:
            if key in self._hashes:
                return self._hashes[key]
        digest = hashlib.sha256()
        with open(path, "rb") as file:
            file.seek(skip)
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
        with self._hash_lock:
            self._hashes[key] = digest.hexdigest()
        return self._hashes[key]

    def short_hash(self, path: str | os.PathLike, length: int = SHORT_HASH) -> str:
        return self.sha256(path)[:length]

    # -- listing ----------------------------------------------------------------

    def list(self, task: str | None = None) -> list[Entry]:
        """What can be chosen for `task` (every task when None): preset, then cache, then folder."""
        tasks = [task_of(task)] if task else list(FOLDERS)
        entries: list[Entry] = []
        cached = self._cache_entries()
        for name in tasks:
            seen: set[str] = set()
            for entry in [*self._preset_entries(name), *(e for e in cached if e.task == name), *self._folder_entries(name)]:
                if entry.name not in seen:
                    seen.add(entry.name)
                    entries.append(entry)
        return entries

    def _preset_entries(self, task: str) -> list[Entry]:
        section = self.preset.sections.get(task, {})
        names = list(section.get("voices", {}).values()) if task == "speech" else [section.get("model")]
        names = [n for n in names if n]
        default = set(names[:1]) if task != "speech" else set(names)
        return [self._preset_entry(task, n, n in default) for n in dict.fromkeys([*names, *section.get("alternatives", [])])]

    def _preset_entry(self, task: str, name: str, default: bool) -> Entry:
        if name.startswith(tiny.PREFIX):
            return Entry(name, task, "preset", True, default, "tiny")
        local = self._find_local(task, name)
        if local is not None:
            return Entry(self.display_name(local), task, "preset", local.exists(), default, _kind(local))
        return Entry(name, task, "preset", hub_snapshot(name) is not None, default, "hub")

    def _cache_entries(self) -> list[Entry]:
        try:
            from huggingface_hub import scan_cache_dir

            info = scan_cache_dir(hub_cache())
        except Exception:  # no cache yet, or unreadable: nothing cached to offer
            return []
        entries = []
        for repo in sorted(info.repos, key=lambda r: r.repo_id):
            if repo.repo_type != "model":
                continue
            snapshot = hub_snapshot(repo.repo_id)
            task = what_is(snapshot) if snapshot is not None else None
            if task is not None:
                entries.append(Entry(repo.repo_id, task, "cache", True, kind="hub"))
        return entries

    def _folder_entries(self, task: str) -> list[Entry]:
        entries: list[Entry] = []
        for folder in FOLDERS[task]:
            if (self.root / folder).is_dir():
                self._walk(self.root / folder, task, entries)
        return entries

    def _walk(self, folder: Path, task: str, entries: list[Entry]) -> None:
        """Single files and model folders under `folder`; a model folder's own files are not models."""
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue  # hidden: a download in progress, an editor's file
            if path.is_dir() and any((path / name).is_file() for name in ("model_index.json", "config.json")):
                entries.append(Entry(self.display_name(path), task, "folder", holds_weights(path), kind="folder"))
            elif path.is_dir():
                self._walk(path, task, entries)
            elif path.suffix == WEIGHT_SUFFIX:
                kind = {"lora": "lora", "embeddings": "embedding"}.get(task, "checkpoint")
                entries.append(Entry(self.display_name(path), task, "folder", True, kind=kind))

    def names(self, task: str) -> list[str]:
        return [entry.name for entry in self.list(task)]


def _kind(path: Path) -> str:
    return "checkpoint" if path.suffix == WEIGHT_SUFFIX else "folder"

"""Downloading a hub model into the Hugging Face cache, with progress in bytes, cancellable, all or nothing.

The files go into a staging cache beside the real one (`<cache>/.studio-downloads/`);
only once every file is there are they moved into the real cache, the snapshot
first and `refs/main` last. A cut, failed or cancelled download removes its
staging folder: the real cache never holds half a model that would later load
as broken, and the library keeps marking the model as not downloaded.

Only what the studio loads is fetched: safetensors weights, configs, tokenizer
and scheduler files; pickle weights and other frameworks' files are skipped.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pipelines.errors import UserFacingError
from studio.library.catalog import hub_cache

ALLOW = ["*.json", "*.safetensors", "*.txt", "*.model", "*.tiktoken", "*.jinja", "*.py.txt"]
Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


class Cancelled(UserFacingError, RuntimeError):
    """The download was cancelled; nothing of it was kept."""


class DownloadError(UserFacingError, RuntimeError):
    """The download failed; nothing of it was kept."""


def download(repo_id: str, *, progress: Progress | None = None, stop: threading.Event | None = None,
             cache: str | os.PathLike | None = None, hub=None) -> Path:
    """Fetch `repo_id` into the Hugging Face cache; returns its snapshot folder.

    `hub`: the object with `snapshot_download` and `hf_hub_download` (default: huggingface_hub),
    replaceable so tests simulate the hub without a network.
    """
    if hub is None:
        import huggingface_hub as hub
    cache = Path(cache) if cache is not None else hub_cache()
    if not isinstance(repo_id, str) or repo_id.count("/") != 1 or repo_id.startswith((".", "/")):
        raise ValueError(f"model must be a hub id like 'org/name' to download, got {repo_id!r}")
    stop = stop or threading.Event()
    report = progress or (lambda done, total: None)
    staging = cache / ".studio-downloads" / f"{repo_id.replace('/', '--')}-{os.getpid()}-{time.monotonic_ns()}"
    try:
        files = hub.snapshot_download(repo_id, allow_patterns=ALLOW, dry_run=True)
        total = sum(int(f.file_size or 0) for f in files)
        done = 0
        report(0, total)
        for info in files:
            if stop.is_set():
                raise Cancelled(f"the download of {repo_id!r} was cancelled; nothing was kept")
            hub.hf_hub_download(repo_id, info.filename, cache_dir=staging, tqdm_class=_bar(lambda n, done=done: report(done + n, total), stop))
            done += int(info.file_size or 0)
            report(done, total)
        folder = _move_into(staging, cache, repo_id)
    except (Cancelled, ValueError):
        raise
    except Exception as error:
        if stop.is_set():
            raise Cancelled(f"the download of {repo_id!r} was cancelled; nothing was kept") from error
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise DownloadError(f"could not download {repo_id!r}: {reason}. Nothing was kept; try again") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _bar(on_bytes: Callable[[int], None], stop: threading.Event):
    """A tqdm class for huggingface_hub: reports a file's bytes, and stops the download when asked."""
    from tqdm.auto import tqdm

    class Bar(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            self.bytes = 0

        def update(self, n=1):
            if stop.is_set():
                raise Cancelled("cancelled")
            self.bytes += int(n or 0)
            on_bytes(self.bytes)
            return super().update(n)

    return Bar


def _move_into(staging: Path, cache: Path, repo_id: str) -> Path:
    """The staged repo moved into the real cache: blobs, then the snapshot, then its ref."""
    name = f"models--{repo_id.replace('/', '--')}"
    source, target = staging / name, cache / name
    commit = (source / "refs" / "main").read_text().strip()
    for part in ("blobs", f"snapshots/{commit}"):
        (target / part).mkdir(parents=True, exist_ok=True)
        for item in sorted((source / part).rglob("*"), key=lambda p: len(p.parts)):
            destination = target / part / item.relative_to(source / part)
            if item.is_dir() and not item.is_symlink():
                destination.mkdir(parents=True, exist_ok=True)
            elif not destination.exists() and not destination.is_symlink():
                os.replace(item, destination)  # a snapshot entry is a relative symlink to ../../blobs: still valid
    (target / "refs").mkdir(parents=True, exist_ok=True)
    ref = target / "refs" / "main"
    temporary = ref.with_name(f".main-{os.getpid()}")
    temporary.write_text(commit)
    os.replace(temporary, ref)  # last: the model counts as downloaded from here on
    return target / "snapshots" / commit

"""Saving results with their recipe, and reading the recipe back.

Writes are atomic and never overwrite: each file is written to a temporary name
in the target folder, synced, then hard-linked to its final name (which fails if
the name exists) and the temporary name removed. A crash leaves at most a hidden
`.tmp-*` file, never a half-written output. Names are numbered per day folder:
`outputs/2026-11-29/00012-text_to_image-3-a-red-fox.png`.

Each result type has a module that knows its files (`studio.outputs.image`, ...), chosen
by the operations table's `SAVERS`; `read_recipe` asks each reader in turn.
"""

from __future__ import annotations

import datetime
import errno
import importlib
import inspect
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipelines.errors import UserFacingError
from studio.operations import SAVERS

# A writer fills an open binary file; save() gives one per suffix of an output.
Writer = Callable[[Any], None]


class OutputError(UserFacingError, OSError):
    """The outputs folder could not be written."""


def slug(text: str, limit: int = 40) -> str:
    words = re.sub(r"[^\w]+", "-", text.lower(), flags=re.UNICODE).strip("-")
    return words[:limit].rstrip("-") or "untitled"


def day_folder(root: Path) -> Path:
    return Path(root) / datetime.date.today().isoformat()


def _next_number(folder: Path) -> int:
    numbers = [int(m.group(1)) for p in folder.iterdir() if (m := re.match(r"(\d{5,})-", p.name))]
    return max(numbers, default=0) + 1


def write_files(folder: Path, label: str, writers: dict[str, Writer]) -> list[Path]:
    """Write one output made of several files sharing a numbered stem.

    `writers` maps a suffix (".png", ".json") to a function filling the file.
    Returns the final paths, in the order of `writers`.
    """
    staged: dict[str, Path] = {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for suffix, write in writers.items():
            staged[suffix] = _stage(folder, write)
        number = _next_number(folder)
        while True:
            finals = [folder / f"{number:05d}-{label}{suffix}" for suffix in writers]
            try:
                _link_all(list(staged.values()), finals)
                return finals
            except FileExistsError:
                number += 1
    except OSError as error:
        raise OutputError(
            f"could not write to the outputs folder {folder}: {error.strerror or error}. "
            "Free some space or set STUDIO_OUTPUTS to a writable folder."
        ) from error
    finally:
        for temporary in staged.values():
            temporary.unlink(missing_ok=True)


def _stage(folder: Path, write: Writer) -> Path:
    # The writer's process id in the name tells a later start which staging files a crash left.
    handle, name = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-", dir=folder)
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _link_all(temporaries: list[Path], finals: list[Path]) -> None:
    done: list[Path] = []
    try:
        for temporary, final in zip(temporaries, finals, strict=True):
            _publish(temporary, final)
            done.append(final)
    except BaseException:
        for path in done:
            path.unlink(missing_ok=True)
        raise


def _publish(temporary: Path, final: Path) -> None:
    """Give `temporary` the name `final`, failing with FileExistsError if it is taken."""
    try:
        os.link(temporary, final)
    except FileExistsError:
        raise
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # No hard links here (some network and FAT file systems): reserve the name, then replace it.
        os.close(os.open(final, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        os.replace(temporary, final)


def remove_staging(root: Path, *, unnamed_after: float = 60.0) -> list[Path]:
    """Remove the `.tmp-*` files that writers killed mid-save left under `root` (and its day folders).

    A file whose writer is still alive is kept (a CLI may be saving into the same
    folder); one without a process id in its name is removed once `unnamed_after`
    seconds old. Returns the paths removed.
    """
    import time

    removed = []
    for path in [*Path(root).glob(".tmp-*"), *Path(root).glob("*/.tmp-*")]:
        found = re.match(r"\.tmp-(\d+)-", path.name)
        try:
            if found:
                if _alive(int(found.group(1))):
                    continue
            elif time.time() - path.stat().st_mtime < unnamed_after:
                continue
            path.unlink()
            removed.append(path)
        except OSError:
            pass  # gone already, or not ours to remove
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():  # this process has not started writing: the file is an earlier process's
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # another user's process
        return True
    return True


def save(result: Any, root: Path, **options) -> list[Path]:
    """Write `result` under `root`'s folder of the day, its recipe embedded.

    `options` go to the result type's saver (e.g. `format="flac"` for audio).
    """
    return save_in(result, day_folder(root), **options)


def read_recipe(path: str | os.PathLike) -> dict[str, Any]:
    """The recipe embedded in a file written by `save` (or an A1111 PNG)."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path must be a file path, got {type(path).__name__}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} is not a file")
    for name in dict.fromkeys(SAVERS.values()):
        recipe = importlib.import_module(name).read(path)
        if recipe is not None:
            return recipe
    raise ValueError(f"no studio recipe found in {path.name!r}; read_recipe takes a PNG, WAV, FLAC, MP3 or JSON written by the studio")


def save_in(result: Any, folder: Path, **options) -> list[Path]:
    """Write `result` directly into `folder` (the batch runner's job folders), its recipe embedded."""
    kind = type(result).__name__
    if kind not in SAVERS:
        raise ValueError(f"cannot save a {kind}; save() takes the result of a studio operation")
    module = importlib.import_module(SAVERS[kind])
    unknown = sorted(set(options) - set(inspect.signature(module.save).parameters))
    if unknown:
        raise ValueError(f"a {kind} is saved without {unknown[0]}; leave it out")
    return module.save(result, Path(folder), **options)

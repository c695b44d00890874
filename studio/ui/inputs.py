"""The files a request may name: uploads, outputs, examples; nothing else on the server.

gradio 6.31 checks a file input only when it carries `"meta": {"_type":
"gradio.FileData"}`: an image given as `{"path": "/any/server/file"}` is opened
as it is, and a path that is a URL is downloaded. `Blocks` checks every file
named anywhere in an event's inputs before gradio reads it, with one message
whether the file exists or not, so the answer tells nothing about the server's
disk. The same walk refuses inputs nested past any sensible depth.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import gradio as gr
from gradio.utils import get_upload_folder

MAX_DEPTH = 64  # a chat history is 3 deep, a gallery 4
URL = re.compile(r"^(?:[a-zA-Z][\w+.-]*:|[/\\]{2})")
REFUSED = ("{label} names a file this server does not serve to clients; upload the file "
           "(or pick one of its outputs or examples)")


def readable(path: str, folders: Iterable[Path]) -> bool:
    """True when `path` is a local file path inside one of `folders` (links resolved)."""
    if not path or URL.match(path) or "\x00" in path:
        return False
    real = os.path.realpath(path)
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep)
               for root in (os.path.realpath(folder) for folder in folders))


def check_files(value, folders: list[Path], label: str = "an input") -> None:
    """Raise `gr.Error` if `value` names a file outside `folders`, or is nested too deeply."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = list(item.values())
            path = item.get("path")
            if path is not None and (not isinstance(path, str) or not readable(path, folders)):
                raise gr.Error(REFUSED.format(label=label), print_exception=False)
        elif isinstance(item, (list, tuple)):
            children = list(item)
        else:
            continue
        if depth > MAX_DEPTH:
            raise gr.Error(f"{label} is nested too deeply; the limit is {MAX_DEPTH} levels", print_exception=False)
        pending.extend((child, depth + 1) for child in children)


class Blocks(gr.Blocks):
    """`gr.Blocks` whose events read only the files `folders()` holds, plus gradio's uploads."""

    def __init__(self, *, folders: Callable[[], list[Path]], **kwargs):
        super().__init__(**kwargs)
        self._folders = folders

    async def preprocess_data(self, block_fn, inputs, state, *args, **kwargs):
        folders = [Path(get_upload_folder()), *self._folders()]
        for block, value in zip(block_fn.inputs, inputs, strict=False):
            check_files(value, folders, _label(block))
        return await super().preprocess_data(block_fn, inputs, state, *args, **kwargs)

    def validate_inputs(self, block_fn, inputs) -> None:
        """A call with too few values is told which ones it lacks (gradio's own message lists its objects)."""
        if len(inputs) < len(block_fn.inputs):
            names = list(inspect.signature(block_fn.fn).parameters)[: len(block_fn.inputs)]
            raise gr.Error(f"{block_fn.name or 'this event'} takes {len(block_fn.inputs)} values, one per parameter in "
                           f"this order: {', '.join(names)}; {len(inputs)} were sent, so "
                           f"{', '.join(names[len(inputs):])} is missing", print_exception=False)


def _label(block) -> str:
    """A short English name of the input for a message (labels are i18n keys, resolved in the browser)."""
    kind = type(block).__name__.lower()
    return {"image": "image", "audio": "audio", "file": "file", "json": "JSON input"}.get(kind, f"{kind} input")

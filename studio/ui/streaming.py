"""Running a generation in a worker thread while the handler streams its steps.

The handler yields a preview after each step; when the browser goes away gradio
stops iterating, and the worker is told to stop at its next step, so an
abandoned generation does not keep the device busy.
"""

from __future__ import annotations

import contextvars
import queue
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from studio.errors import Cancelled


def run_with_steps(call: Callable[[Callable], Any], *, heartbeat: float | None = None) -> Iterator[tuple[str, Any]]:
    """Run `call(on_step)`; yield ("step", (step, total, preview)) items, then ("done", result).

    With `heartbeat`, a ("wait", None) item comes every `heartbeat` seconds without a step:
    a handler yielding on it can be closed (Stop, cancel) while a call without steps runs.
    """
    updates: queue.Queue = queue.Queue()
    stop = threading.Event()

    def on_step(step: int, total: int, preview) -> None:
        if stop.is_set():
            raise Cancelled("the generation was stopped")
        updates.put(("step", (step, total, preview)))

    def work() -> None:
        try:
            updates.put(("done", call(on_step)))
        except BaseException as error:  # handed to the handler's thread, raised there
            updates.put(("error", error))

    # The copied context carries gradio's progress tracker into the worker thread.
    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(work,), daemon=True, name="studio-generation").start()
    try:
        while True:
            try:
                kind, value = updates.get(timeout=heartbeat)
            except queue.Empty:
                yield "wait", None
                continue
            if kind == "error":
                raise value
            yield kind, value
            if kind == "done":
                return
    finally:
        stop.set()


def waiting(call: Callable[[threading.Event], Any], outputs: int, every: float = 0.5):
    """`result = yield from waiting(lambda stop: ..., n)`: run the call in a worker, yielding n no-change updates meanwhile.

    Stop or a cancel closes the handler at one of these yields: `stop` is then set,
    so a call that takes it ends within a token or a window, and its result is dropped unsaved.
    """
    import gradio as gr

    stop = threading.Event()
    try:
        for kind, value in run_with_steps(lambda _on_step: call(stop), heartbeat=every):
            if kind == "done":
                return value
            yield tuple(gr.skip() for _ in range(outputs))
    finally:
        stop.set()


class StepStrip:
    """The step-preview strip's frames, each written once to a file of its own.

    gradio re-encodes a PIL image into its cache at every yield, rewriting in place a
    file a browser may be reading at that moment (a response longer than its declared
    length); a file path is copied into the cache once. The files go with the block.
    """

    def __enter__(self) -> StepStrip:
        self._folder = tempfile.TemporaryDirectory(prefix="studio-steps-")
        self.paths: list[str] = []
        return self

    def add(self, image) -> list[str]:
        path = Path(self._folder.name) / f"step-{len(self.paths)}.webp"
        image.save(path, format="WEBP")
        self.paths.append(str(path))
        return list(self.paths)

    def __exit__(self, *_) -> None:
        self._folder.cleanup()


def stream_images(run: Callable[[Callable], Any], outputs: int, finish: Callable[[Any, list[str]], tuple]):
    """An image tab's updates: after every step the strip (second output) and nothing else, then
    `finish(result, strip_paths)`. An update comes after every step, preview or not: gradio can
    close the handler only between two yields, and closing it stops the worker (Stop, a tab closed)."""
    import gradio as gr

    with StepStrip() as strip:
        for kind, value in run_with_steps(run):
            if kind == "step":
                yield gr.skip(), gr.skip() if value[2] is None else strip.add(value[2]), *(gr.skip() for _ in range(outputs - 2))
            elif kind == "done":
                yield finish(value, strip.paths)

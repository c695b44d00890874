"""Running a generation in a worker thread while the handler streams its steps.

The handler yields a preview after each step; when the browser goes away gradio
stops iterating, and the worker is told to stop at its next step, so an
abandoned generation does not keep the device busy. The thread is the studio's
`run_in_worker` (`studio.streams`): closing the stream waits for the worker, so
the model it holds is free once the handler is gone.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from studio.streams import Emit, run_in_worker


def run_with_steps(call: Callable[[Callable], Any], *, heartbeat: float | None = None) -> Generator[tuple[str, Any], None, Any]:
    """Run `call(on_step)`; yield ("step", (step, total, preview)) items, then ("done", result).

    With `heartbeat`, a ("wait", None) item comes every `heartbeat` seconds:
    a handler yielding on it can be closed (Stop, cancel) while a call without steps runs.
    Once the consumer has left, the next step raises `Cancelled` in the worker.
    """
    def work(emit: Emit) -> Any:
        with _beating(emit, heartbeat):
            return call(lambda step, total, preview: emit(("step", (step, total, preview))))

    result = yield from run_in_worker(work, name="studio-generation")
    yield "done", result
    return result


@contextmanager
def _beating(emit: Emit, every: float | None) -> Iterator[None]:
    """While the block runs, ("wait", None) every `every` seconds (none when `every` is None)."""
    if every is None:
        yield
        return
    done = threading.Event()

    def beat() -> None:
        while not done.wait(every):
            try:
                emit(("wait", None))
            except Exception:  # Cancelled: the consumer has left
                return

    thread = threading.Thread(target=beat, daemon=True, name="studio-heartbeat")
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def waiting(call: Callable[[threading.Event], Any], outputs: int, every: float = 0.5):
    """`result = yield from waiting(lambda stop: ..., n)`: run the call in a worker, yielding n no-change updates meanwhile.

    Stop or a cancel closes the handler at one of these yields: `stop` is then set,
    so a call that takes it ends within a token or a window, and its result is dropped unsaved.
    """
    import gradio as gr

    stop = threading.Event()
    stream = run_with_steps(lambda _on_step: call(stop), heartbeat=every)
    try:
        for kind, value in stream:
            if kind == "done":
                return value
            yield tuple(gr.skip() for _ in range(outputs))
    finally:
        stop.set()  # before the stream waits for the worker to end
        stream.close()


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
        for kind, value in run_with_steps(run):  # closed (Stop, a tab closed): the worker stops at its next step
            if kind == "step":
                yield gr.skip(), gr.skip() if value[2] is None else strip.add(value[2]), *(gr.skip() for _ in range(outputs - 2))
            elif kind == "done":
                yield finish(value, strip.paths)

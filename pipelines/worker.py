"""Running a generation in a worker thread while the caller reads its events.

One helper for every stream: text pieces of a reply, step previews of an image.
The work runs in a thread of its own, so whatever it takes (the model cache's
lock, torch's seeded generator) is taken and released by that one thread, even
when the consumer (gradio) resumes the stream from a different thread each time.
When the consumer leaves early, the next `emit` raises `Cancelled` in the
worker, and the stream waits for it: the model is free once `close()` returns.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from pipelines.errors import Cancelled

R = TypeVar("R")
Emit = Callable[[Any], None]


def run_in_worker(work: Callable[[Emit], R], *, name: str = "studio-worker") -> Generator[Any, None, R]:
    """Run `work(emit)` in a thread; yield each value it emits; return what it returns.

    An error raised by `work` is raised again in the consumer's thread. The
    thread runs in a copy of the caller's context (gradio's progress tracker
    lives there).
    """
    events: queue.Queue = queue.Queue()
    leaving = threading.Event()

    def emit(value: Any) -> None:
        if leaving.is_set():
            raise Cancelled("the generation was stopped")
        events.put(("event", value))

    def run() -> None:
        try:
            events.put(("done", work(emit)))
        except BaseException as error:  # handed to the consumer's thread, raised there
            events.put(("error", error))

    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(run,), daemon=True, name=name)
    return _consume(events, leaving, worker)


def _consume(events: queue.Queue, leaving: threading.Event, worker: threading.Thread) -> Generator[Any, None, Any]:
    worker.start()
    try:
        while True:
            kind, value = events.get()
            if kind == "error":
                raise value
            if kind == "done":
                return value
            yield value
    finally:
        leaving.set()
        worker.join()

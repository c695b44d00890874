"""Running a generation in a worker thread while the handler streams its steps.

The handler yields a preview after each step; when the browser goes away gradio
stops iterating, and the worker is told to stop at its next step, so an
abandoned generation does not keep the device busy.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from pipelines.errors import Cancelled


def run_with_steps(call: Callable[[Callable], Any]) -> Iterator[tuple[str, Any]]:
    """Run `call(on_step)`; yield ("step", (step, total, preview)) items, then ("done", result)."""
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
            kind, value = updates.get()
            if kind == "error":
                raise value
            yield kind, value
            if kind == "done":
                return
    finally:
        stop.set()

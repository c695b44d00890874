"""One queue for the device, shared by every way in: UI clicks, REST calls and MCP tools.

Gradio's queue orders the UI's events among themselves; REST calls arrive beside
it, not through it. Both reach the models through one `Queued` view of the
`Studio`, whose operations wait for a turn on one `DeviceQueue`: with one slot,
no two operations run at once, whoever asked. Turns are first come, first served;
past `max_waiting` callers in line, the next one is refused at once (`QueueFull`)
instead of waiting without end.
"""

from __future__ import annotations

import functools
import threading
from collections import deque
from contextlib import contextmanager
from typing import Any

from pipelines.errors import UserFacingError
from studio.operations import OPERATIONS as TABLE

# The `Studio` methods that run a model: every operation of the table, and the model-running methods
# that are no row of it. Anything else (save, read_recipe, list_models, preset, ...) passes through.
OPERATIONS = frozenset({*TABLE, "stream_chat", "control_map", "preload"})


class QueueFull(UserFacingError, RuntimeError):
    """More callers are waiting for the device than the queue holds."""


class DeviceQueue:
    """At most `slots` holders at once; callers wait in arrival order, at most `max_waiting` of them.

    A turn may be released by another thread than the one that took it (a
    streamed reply is read from whichever worker thread its consumer is on).
    """

    def __init__(self, slots: int = 1, max_waiting: int | None = None):
        if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
            raise ValueError(f"concurrency must be a whole number of at least 1, got {slots!r}")
        if max_waiting is not None and (isinstance(max_waiting, bool) or not isinstance(max_waiting, int) or max_waiting < 0):
            raise ValueError(f"queue size must be a whole number of at least 0, got {max_waiting!r}")
        self.slots, self.max_waiting = slots, max_waiting
        self._condition = threading.Condition()
        self._running = 0
        self._line: deque = deque()

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._line)

    def acquire(self) -> None:
        with self._condition:
            if self._running < self.slots and not self._line:
                self._running += 1
                return
            if self.max_waiting is not None and len(self._line) >= self.max_waiting:
                raise QueueFull(f"the device queue is full ({len(self._line)} requests waiting, "
                                f"{self._running} running); try again in a moment")
            ticket = object()
            self._line.append(ticket)
            try:
                while self._line[0] is not ticket or self._running >= self.slots:
                    self._condition.wait()
            except BaseException:
                self._line.remove(ticket)
                self._condition.notify_all()
                raise
            self._line.popleft()
            self._running += 1
            self._condition.notify_all()  # with several slots, the next in line may fit too

    def release(self) -> None:
        with self._condition:
            if self._running <= 0:
                raise RuntimeError("DeviceQueue.release() without a turn")
            self._running -= 1
            self._condition.notify_all()

    @contextmanager
    def turn(self):
        self.acquire()
        try:
            yield
        finally:
            self.release()


class Queued:
    """`studio` seen through `queue`: each operation waits for its turn; the rest passes through."""

    def __init__(self, studio, queue: DeviceQueue):
        self._studio, self.device_queue = studio, queue

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._studio, name)
        if name not in OPERATIONS or not callable(value):
            return value
        if name == "stream_chat":
            return functools.wraps(value)(lambda *args, **kwargs: QueuedStream(value(*args, **kwargs), self.device_queue))

        @functools.wraps(value)
        def queued(*args, **kwargs):
            with self.device_queue.turn():
                return value(*args, **kwargs)

        return queued

    def __repr__(self) -> str:
        return f"Queued({self._studio!r})"


class QueuedStream:
    """A `stream_chat` stream that takes its turn on the first piece and gives it back when done or closed."""

    def __init__(self, stream, queue: DeviceQueue):
        self._stream, self._queue = stream, queue
        self._holding = self._done = False
        self._lock = threading.Lock()

    @property
    def result(self):
        return self._stream.result

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self._done:
            raise StopIteration
        if not self._holding:  # a stream is read by one consumer at a time
            self._queue.acquire()
            self._holding = True
        try:
            return next(self._stream)
        except BaseException:
            self._done = True  # StopIteration included: the reply is complete
            self._release()
            raise

    def close(self) -> None:
        self._done = True
        try:
            self._stream.close()
        finally:
            self._release()

    def _release(self) -> None:
        with self._lock:
            holding, self._holding = self._holding, False
        if holding:
            self._queue.release()

    def __del__(self):
        self._release()

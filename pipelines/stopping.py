"""A caller's stop request, checked where a generation can stop: after a token, a step or a window.

A stop is a `threading.Event` or a function returning True to stop. Chat keeps
what was written so far; music and transcription raise `Cancelled` (half a piece
or half a transcript is not what was asked for), and nothing is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.errors import Cancelled

Stop = Any  # threading.Event | Callable[[], bool] | None


def stop_check(stop: Stop) -> Callable[[], bool] | None:
    """`stop` as a function returning True to stop (None when there is no stop request)."""
    if stop is None:
        return None
    if callable(getattr(stop, "is_set", None)):
        return stop.is_set
    if callable(stop):
        return stop
    raise ValueError(f"stop must be a threading.Event or a function returning True to stop, got {type(stop).__name__}")


def halt_if(should_stop: Callable[[], bool] | None, what: str) -> None:
    """Raise `Cancelled` if a stop was asked for."""
    if should_stop is not None and should_stop():
        raise Cancelled(f"the {what} was stopped")


def stopping_criteria(should_stop: Callable[[], bool]):
    """A transformers StoppingCriteria asking `should_stop()` after every token; `.fired` once it said yes."""
    import torch
    from transformers import StoppingCriteria

    class StopRequested(StoppingCriteria):
        fired = False

        def __call__(self, input_ids, scores, **kwargs):
            self.fired = self.fired or bool(should_stop())
            return torch.full((input_ids.shape[0],), self.fired, dtype=torch.bool, device=input_ids.device)

    return StopRequested()

"""Input checks shared by every wrapper.

Each returns the value in its canonical type or raises `ValueError` naming the
field, the bad value and what is allowed ("width must be a multiple of 8, got
500"). Nothing is clamped or rounded silently: a value out of range is an error.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any

MAX_SEED = 2**32 - 1


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def text(name: str, value: Any, *, max_chars: int, allow_empty: bool = False) -> str:
    """A string without NUL or control characters, stripped; empty only if allowed."""
    if value is None and allow_empty:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, got {type(value).__name__} {_show(value)}")
    if "\x00" in value:
        raise ValueError(f"{name} contains NUL characters; remove them")
    unicode(name, value)
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValueError(f"{name} contains control characters; remove them")
    value = value.strip()
    if not value and not allow_empty:
        raise ValueError(f"{name} is empty; write some text")
    if len(value) > max_chars:
        raise ValueError(f"{name} is {len(value)} characters long; the limit is {max_chars}")
    return value


def unicode(name: str, value: str) -> str:
    """`value` if it is valid Unicode: a lone surrogate (from a broken decode) cannot be encoded or tokenised."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"{name} holds a character that is not valid Unicode at position {error.start}; remove it") from None
    return value


def integer(name: str, value: Any, *, low: int, high: int, multiple_of: int = 1) -> int:
    """An int in [low, high]; integral floats (as UIs send them) are accepted."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a whole number, got {type(value).__name__} {_show(value)}")
    if not isinstance(value, Integral):
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"{name} must be a whole number, got {_show(value)}")
        value = int(value)
    value = int(value)
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    if value % multiple_of:
        raise ValueError(f"{name} must be a multiple of {multiple_of}, got {value}")
    return value


def number(name: str, value: Any, *, low: float, high: float, low_open: bool = False) -> float:
    """A finite float in [low, high] (or (low, high] with low_open)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number, got {type(value).__name__} {_show(value)}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    if not math.isfinite(value) or too_low or value > high:
        interval = f"({low:g}, {high:g}]" if low_open else f"[{low:g}, {high:g}]"
        raise ValueError(f"{name} must be in {interval}, got {_show(value)}")
    return value


def choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """One of `choices`, compared without regard to case."""
    choices = list(choices)
    if isinstance(value, str):
        for option in choices:
            if option.lower() == value.strip().lower():
                return option
    raise ValueError(f"unknown {name} {_show(value)}; choose one of: {', '.join(choices)}")


def seed(value: Any, name: str = "seed") -> int:
    """The seed to use: `value`, or a fresh random one when it is None or -1."""
    if value is None or (not isinstance(value, bool) and isinstance(value, Real) and value == -1):
        return secrets.randbelow(MAX_SEED + 1)
    return integer(name, value, low=0, high=MAX_SEED)

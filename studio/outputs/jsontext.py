"""Reading JSON a visitor handed over: bounded in size and depth, errors named.

Python's parser raises RecursionError past about a thousand levels, and code that
walks the result recursively fails sooner: a document nested deeper than
`MAX_DEPTH` is refused with a message, as is one over `MAX_CHARS`.
"""

from __future__ import annotations

import json
from typing import Any

MAX_CHARS = 20_000_000  # a long saved conversation is a few MB
MAX_DEPTH = 64  # a studio recipe or conversation is 4 deep


class OverLimit(ValueError):
    """JSON over the size or depth limit: refused even where other bad JSON is merely skipped."""


def loads(text: str | bytes, name: str) -> Any:
    """`text` parsed; `ValueError` naming `name` if it is not JSON, too big or too deep."""
    if len(text) > MAX_CHARS:
        raise OverLimit(f"{name} is {len(text):,} characters of JSON; the limit is {MAX_CHARS:,}")
    try:
        value = json.loads(text)
    except RecursionError:
        raise OverLimit(f"{name} is JSON nested too deeply; the limit is {MAX_DEPTH} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{name} is not valid JSON ({error})") from None
    check_depth(value, name)
    return value


def check_depth(value: Any, name: str, limit: int = MAX_DEPTH) -> None:
    """Refuse lists and dicts nested deeper than `limit` (walked without recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            raise OverLimit(f"{name} is JSON nested too deeply; the limit is {limit} levels")
        pending.extend((child, depth + 1) for child in children)

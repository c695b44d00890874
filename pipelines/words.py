"""Word timings from Whisper's per-token times (cross-attention of its alignment heads, aligned by DTW).

`generate(..., return_token_timestamps=True)` gives one time per token: when the
token starts being heard. A word is the run of tokens from one that begins with
a space to the next such one (how Whisper's byte-level BPE marks word starts);
it lasts from its first token's time to the time of the token after it. The
alignment can stray outside the segment the timestamp tokens gave, or run
backwards for a token or two, so the times are clamped into the segment and
made monotonic: each word starts where the previous ended at the earliest.
"""

from __future__ import annotations

WORD_START = "Ġ"  # the byte-level BPE's mark of a leading space


def group(pieces: list[str], times: list[float], after: float) -> list[tuple[list[int], float, float]]:
    """Token positions of each word with its raw (start, end); `after` is the time following the last token.

    `pieces` are the tokens as the tokenizer spells them (`Ġhello`), `times` their start times.
    """
    words: list[list[int]] = []
    for position, piece in enumerate(pieces):
        if not words or piece.startswith(WORD_START):
            words.append([])
        words[-1].append(position)
    bounds = [*times, after]
    return [(word, bounds[word[0]], bounds[word[-1] + 1]) for word in words]


def place(raw: list[tuple[float, float, str]], start: float, end: float) -> list[tuple[float, float, str]]:
    """Words clamped into [start, end] and made monotonic (non-overlapping, in order), rounded to ms."""
    placed: list[tuple[float, float, str]] = []
    floor = start
    for a, b, word in raw:
        a = min(max(a, floor), end)
        b = min(max(b, a), end)
        placed.append((round(a, 3), round(b, 3), word))
        floor = b
    return placed

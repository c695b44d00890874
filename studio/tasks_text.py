"""Text operations: chat, text-to-text and the next-token view (one language model)."""

from __future__ import annotations

from studio.base import StudioBase


class TextTasks(StudioBase):
    pass

"""The `Studio` facade: every operation of the UI, the CLI and the batch runner."""

from __future__ import annotations

from studio.tasks_audio import AudioTasks
from studio.tasks_image import ImageTasks
from studio.tasks_text import TextTasks


class Studio(ImageTasks, TextTasks, AudioTasks):
    """One preset, one model cache, one outputs folder. Thread-safe: one model serves one call at a time."""

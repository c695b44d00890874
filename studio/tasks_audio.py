"""Audio operations: text-to-speech, speech-to-text, text-to-music and audio-to-audio."""

from __future__ import annotations

from studio.base import StudioBase


class AudioTasks(StudioBase):
    pass

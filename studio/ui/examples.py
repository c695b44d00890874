"""Example inputs for the tabs, drawn or synthesised on the spot (nothing is shipped or downloaded).

A painted landscape for the image tools, a short melody for the music tools, and
spoken French when espeak-ng is installed (it is on Spaces, through packages.txt).
Written once into a temporary folder; gradio copies them into its cache.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

FOLDER = Path(tempfile.gettempdir()) / "studio-examples"


def _target(name: str) -> Path:
    FOLDER.mkdir(parents=True, exist_ok=True)
    return FOLDER / name


def landscape() -> str:
    """A 256x256 painted landscape: sky, sun, hills."""
    path = _target("landscape.png")
    if not path.exists():
        image = Image.new("RGB", (256, 256))
        draw = ImageDraw.Draw(image)
        for y in range(256):
            draw.line([(0, y), (256, y)], fill=(70 + y // 3, 130 + y // 4, 230 - y // 3))
        draw.ellipse([170, 40, 220, 90], fill=(255, 210, 90))
        draw.polygon([(0, 190), (90, 120), (180, 200), (256, 140), (256, 256), (0, 256)], fill=(60, 120, 60))
        image.save(path)
    return str(path)


def melody() -> str:
    """Four seconds of a plucked arpeggio at 32 kHz."""
    import soundfile as sf

    path = _target("melody.wav")
    if not path.exists():
        rate = 32000
        notes = [261.63, 329.63, 392.0, 523.25] * 4
        beat = np.arange(rate // 4) / rate
        pluck = [np.sin(2 * np.pi * f * beat) * np.exp(-6 * beat) for f in notes]
        sf.write(path, (0.4 * np.concatenate(pluck)).astype(np.float32), rate)
    return str(path)


def speech() -> str | None:
    """A French sentence spoken by espeak-ng, or None where it is not installed."""
    path = _target("parole.wav")
    if not path.exists():
        espeak = shutil.which("espeak-ng")
        if espeak is None:
            return None
        words = "Bonjour ! Ceci est un exemple de transcription."
        done = subprocess.run([espeak, "-v", "fr", "-w", str(path), words], capture_output=True, timeout=30)
        if done.returncode != 0:
            return None
    return str(path)

"""Memory: cycling through every task under STUDIO_MEMORY_BUDGET, and no slow leak.

The budget is set just above the largest single model, so the cache must unload
the least recently used models as the cycle goes on. After each call the bytes
held by cached models are read; their peak is compared to the budget. The
process's resident memory is tracked too: after a warm-up cycle it must stay
level over the following cycles (no leak).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from bench.common import rss_bytes, value_row


def tasks(studio):
    """One small call per task, in the order of the UI's tabs."""
    sine = (16000, (0.2 * np.sin(np.linspace(0, 2000 * np.pi, 32000))).astype(np.float32))
    image = Image.new("RGB", (64, 64), (120, 40, 200))
    return [
        lambda: studio.chat([{"role": "user", "content": "Bonjour"}], seed=1, max_new_tokens=8),
        lambda: studio.next_token("Je suis allé voir Emilie. C'est une", top_k=5),
        lambda: studio.text_to_image("a fox", seed=1, steps=2, width=64, height=64),
        lambda: studio.image_to_image(image, "a fox", seed=1, steps=2, strength=0.5),
        lambda: studio.upscale(image),
        lambda: studio.text_to_speech("Bonjour à tous", language="fr", seed=1),
        lambda: studio.speech_to_text(sine),
        lambda: studio.text_to_music("calm piano", duration=1, seed=1),
    ]


def model_sizes(preset: str) -> int:
    """The largest single model of the cycle, loaded alone."""
    from studio import Studio

    largest = 0
    for call in tasks(probe := Studio(preset=preset)):
        call()
        largest = max(largest, max(n for _, n in probe.models.loaded()))
        probe.unload()
    return largest


def run(quick: bool, preset: str = "tiny") -> list[dict]:
    from studio import Studio

    budget = int(model_sizes(preset) * 1.1)
    studio = Studio(preset=preset, memory_budget=budget)
    cycle = tasks(studio)
    peak, rss = 0, []
    for _ in range(4 if quick else 12):
        for call in cycle:
            call()
            peak = max(peak, studio.models.resident_bytes())
        rss.append(rss_bytes())
    growth = rss[-1] / rss[0]  # rss[0] is after the warm-up cycle
    calls = len(cycle) * len(rss)
    return [
        value_row("peak model memory / budget, cycling every task", peak / budget, unit="x", target="<= 1.0",
                  note=f"budget {budget / 1e6:.1f} MB (largest model + 10%), peak {peak / 1e6:.1f} MB"),
        value_row(f"resident memory after {calls} calls / after the first cycle", growth, unit="x", target="<= 1.05",
                  note=f"{rss[0] / 1e9:.3f} GB -> {rss[-1] / 1e9:.3f} GB"),
    ]

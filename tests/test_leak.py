"""No slow leak: about a hundred generations cycling through every task, each saved.

After a warm-up cycle (models loaded, caches filled) resident memory must stay
within a generous margin of its level, and open files and threads must come
back to theirs. bench/memory.py measures the same cycle closely (target 5%);
this test only catches a leak large enough to matter in a long session.
"""

import os
import threading

from bench.common import rss_bytes
from bench.memory import tasks

CYCLES = 12  # after the warm-up: 12 x 8 tasks = 96 generations, 104 in all
MARGIN = 1.15


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_hundred_generations_keep_memory_files_and_threads_level(fresh_studio):
    cycle = tasks(fresh_studio)
    for call in cycle:  # warm-up
        fresh_studio.save(call())
    level, files, threads = rss_bytes(), open_files(), threading.active_count()
    loaded = [m["model"] for m in fresh_studio.loaded_models()]
    peak = level
    for _ in range(CYCLES):
        for call in cycle:
            fresh_studio.save(call())
        peak = max(peak, rss_bytes())
    assert peak <= level * MARGIN, f"{level / 1e6:.0f} MB after the warm-up, {peak / 1e6:.0f} MB at the most"
    assert open_files() <= files and threading.active_count() <= threads
    assert sorted(m["model"] for m in fresh_studio.loaded_models()) == sorted(loaded)  # nothing loaded twice
    assert all(count == 1 for count in fresh_studio.models.loads.values())
    saved = [p for p in fresh_studio.outputs.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert len({p.stem for p in saved}) == len(cycle) * (CYCLES + 1)

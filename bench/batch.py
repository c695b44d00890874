"""Batch throughput: the same job file with 1 and with 2 processes (torchrun), fresh output folders."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import value_row


def _run(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def run(quick: bool, preset: str = "tiny") -> list[dict]:
    # Jobs heavy enough (384x384, 8 steps) that computing them, not starting processes, is measured.
    jobs = 8 if quick else 16
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        lines = [{"task": "text_to_image", "prompt": f"a fox number {i}", "seed": i, "steps": 8, "width": 384,
                  "height": 384, "guidance": 7.5 + i % 2} for i in range(jobs)]  # two settings: two batches of equal jobs
        (folder / "jobs.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
        base = [sys.executable, "-m", "studio", "batch", "jobs.jsonl", "--preset", preset, "--no-progress"]
        torchrun = str(Path(sys.executable).with_name("torchrun"))
        one = _run([*base, "--out", "one"], folder)
        two = _run([torchrun, "--nproc_per_node", "2", *base[1:], "--out", "two"], folder)
    return [
        value_row(f"batch throughput, {jobs} image jobs: 2 processes / 1 process", one / two, unit="x",
                  note=f"1 process {jobs / one:.2f} jobs/s, 2 processes {jobs / two:.2f} jobs/s (start-up included)"),
    ]

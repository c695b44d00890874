"""The batch runner: validation first, resumable runs, and the same outputs for 1 or 2 processes."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.core import Studio
from studio.serving.batch import JobFileError, merge_manifest, parse_jobs, plan, run_batch

IMAGE = {"task": "text_to_image", "steps": 2, "width": 64, "height": 64}


def write_jobs(path: Path, jobs: list) -> Path:
    path.write_text("".join((j if isinstance(j, str) else json.dumps(j)) + "\n" for j in jobs), encoding="utf-8")
    return path


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def images_by_line(out: Path) -> dict[int, np.ndarray]:
    return {
        row["line"]: np.asarray(Image.open(out / path))
        for row in manifest(out)
        for path in row["outputs"]
        if path.endswith(".png")
    }


def run_cli(*args, cwd: Path, env_extra=None, timeout=240) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(
    "bad, field",
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "JSON object"),
        ({"task": "paint", "prompt": "x"}, "'task'"),
        ({"task": "text_to_image"}, "'prompt'"),
        ({"task": "text_to_image", "prompt": "x", "widht": 64}, "'widht'"),
        ({"task": "text_to_image", "prompt": "x", "steps": "two"}, "'steps'"),
        ({"task": "upscale", "image": "missing.png"}, "'image'"),
        ({"task": "audio_to_audio", "mode": "remix", "audio": "x.wav"}, "'mode'"),
        ({"task": "upscale", "image": "missing.png", "tile": 16}, "'tile': tile must be"),  # a declared range
        ({"task": "upscale", "image": "missing.png", "scale": 3}, "'scale': scale must be one of 2, 4"),
    ],
)
def test_an_invalid_line_stops_the_run_before_anything_starts(tmp_path, bad, field):
    jobs = write_jobs(tmp_path / "jobs.jsonl", [{**IMAGE, "prompt": "a fox", "seed": 1}, bad])
    with pytest.raises(JobFileError, match=f"line 2: .*{field}"):
        run_batch(jobs, tmp_path / "out", preset="tiny", progress=False)
    assert not (tmp_path / "out").exists()


def test_seedless_jobs_get_a_seed_from_their_line(tmp_path):
    jobs = write_jobs(tmp_path / "jobs.jsonl", [{**IMAGE, "prompt": "a fox"}, {**IMAGE, "prompt": "a fox"}])
    first, second = parse_jobs(jobs, Studio)
    assert first.kwargs["seed"] != second.kwargs["seed"]
    assert parse_jobs(jobs, Studio)[0].kwargs["seed"] == first.kwargs["seed"]


def test_plan_batches_equal_image_settings_and_groups_by_model(tmp_path):
    jobs = write_jobs(tmp_path / "jobs.jsonl", [
        {"task": "upscale", "image": str(save_image(tmp_path))},
        {**IMAGE, "prompt": "a", "seed": 1},
        {**IMAGE, "prompt": "b", "seed": 2, "steps": 3},
        {**IMAGE, "prompt": "c", "seed": 3},
    ])
    units = plan(parse_jobs(jobs, Studio))
    assert [[job.line for job in unit] for unit in units] == [[2, 4], [3], [1]]


def save_image(folder: Path) -> Path:
    path = folder / "in.png"
    Image.new("RGB", (32, 32), (200, 10, 10)).save(path)
    return path


def test_one_process_runs_every_job_once_and_a_rerun_skips_them(tmp_path):
    jobs = write_jobs(tmp_path / "jobs.jsonl", [
        {**IMAGE, "prompt": "a fox", "seed": 1},
        {**IMAGE, "prompt": "a cat", "seed": 2},
        {"task": "upscale", "image": "in.png"},
        {**IMAGE, "prompt": "a dog", "seed": 3, "width": 500},
    ])
    save_image(tmp_path)
    out = tmp_path / "out"
    counts = run_batch(jobs, out, preset="tiny", progress=False)
    assert (counts["done"], counts["failed"]) == (3, 1)
    rows = manifest(out)
    assert [r["line"] for r in rows] == [1, 2, 3, 4]
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "error"]
    assert "width" in rows[3]["error"]
    for row in rows[:3]:
        recipe = Studio.read_recipe(out / row["outputs"][0])
        assert recipe["task"] == row["task"]
    before = {p: p.stat().st_mtime_ns for p in (out / "jobs").rglob("*.png")}
    again = run_batch(jobs, out, preset="tiny", progress=False)
    assert (again["done"], again["failed"], again["skipped"]) == (0, 1, 3)
    assert {p: p.stat().st_mtime_ns for p in (out / "jobs").rglob("*.png")} == before


def test_two_processes_match_one_process_pixel_for_pixel(tmp_path):
    jobs = write_jobs(tmp_path / "jobs.jsonl", [
        {**IMAGE, "prompt": "a red fox", "seed": 1},
        {**IMAGE, "prompt": "a blue cat", "seed": 2},
        {**IMAGE, "prompt": "a green owl"},
        {**IMAGE, "prompt": "a grey wolf", "seed": 4, "steps": 3},
        {"task": "upscale", "image": "in.png"},
    ])
    save_image(tmp_path)
    torchrun = Path(sys.executable).with_name("torchrun")
    two = run_cli(str(torchrun), "--nproc_per_node", "2", "-m", "studio", "batch", str(jobs), "--out", "two",
                  "--preset", "tiny", "--no-progress", cwd=tmp_path)
    assert two.returncode == 0, two.stderr[-2000:]
    one = run_cli(sys.executable, "-m", "studio", "batch", str(jobs), "--out", "one", "--preset", "tiny",
                  "--no-progress", cwd=tmp_path)
    assert one.returncode == 0, one.stderr[-2000:]
    rows = manifest(tmp_path / "two")
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5] and all(r["status"] == "ok" for r in rows)
    assert {r["rank"] for r in rows} == {0, 1}  # the work was really shared
    assert not list((tmp_path / "two").glob("manifest.rank*.jsonl"))
    one_images, two_images = images_by_line(tmp_path / "one"), images_by_line(tmp_path / "two")
    assert one_images.keys() == two_images.keys() == {1, 2, 3, 4, 5}
    for line in one_images:
        assert np.array_equal(one_images[line], two_images[line]), f"line {line} differs"


def test_a_killed_run_resumes_without_redoing_or_losing_jobs(tmp_path):
    lines = [{**IMAGE, "prompt": f"a fox number {i}", "seed": i, "steps": 4 + i} for i in range(10)]
    jobs = write_jobs(tmp_path / "jobs.jsonl", lines)
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "studio", "batch", str(jobs), "--out", str(out), "--preset",
                                "tiny", "--no-progress"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows_file = out / "manifest.rank0.jsonl"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if rows_file.exists() and len(rows_file.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished_before = {p.name: p.stat().st_ino for p in (out / "jobs").iterdir() if p.name.isdigit()}
    assert 2 <= len(finished_before) < len(lines), "the run should have been killed half-way"
    # What a job being written at the kill leaves (the kill may or may not land there itself).
    (out / "jobs" / ".00010.tmp-99999").mkdir(exist_ok=True)
    (out / "jobs" / ".00010.tmp-99999" / "00001-text_to_image-9-half.png").write_bytes(b"\x89PNG half")
    counts = run_batch(jobs, out, preset="tiny", progress=False)
    assert counts["skipped"] == len(finished_before)
    assert counts["done"] == len(lines) - len(finished_before)
    rows = manifest(out)
    assert [r["line"] for r in rows] == list(range(1, 11)) and all(r["status"] == "ok" for r in rows)
    for name, inode in finished_before.items():
        assert (out / "jobs" / name).stat().st_ino == inode  # not redone
    for folder in (out / "jobs").iterdir():
        assert not folder.name.startswith(".")  # no half-written job left behind
        assert len(list(folder.iterdir())) == 1


def test_merge_recovers_a_job_finished_just_before_a_crash(tmp_path):
    jobs = parse_jobs(write_jobs(tmp_path / "jobs.jsonl", [{**IMAGE, "prompt": "a fox", "seed": 1}]), Studio)
    folder = tmp_path / "out" / "jobs" / "00001"
    folder.mkdir(parents=True)
    shutil.copy(save_image(tmp_path), folder / "00001-text_to_image-1-a-fox.png")
    merge_manifest(tmp_path / "out", jobs)
    assert manifest(tmp_path / "out") == [{"line": 1, "task": "text_to_image", "status": "ok", "seed": 1,
                                          "outputs": ["jobs/00001/00001-text_to_image-1-a-fox.png"]}]

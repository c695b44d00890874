"""`studio batch JOBS.jsonl --out DIR`: many jobs, one or many processes, resumable.

Each line of the jobs file is `{"task": <operation>, ...its Python keywords...}`.
The whole file is checked first; nothing runs while a line is wrong. Jobs are
grouped by model so each process loads each model once, and text-to-image jobs
with equal settings run as one batched pass.

Under `torchrun` or `accelerate launch` the work is split across processes with
accelerate's `PartialState`. The plan (seeds, batches, order) is computed the
same way in every process from the file alone, so 1, 2 or N processes produce
the same outputs. A job without a seed gets one derived from its line.

Crash safety: a job's files are written into a hidden staging folder that is
renamed to `DIR/jobs/NNNNN` when complete, then its manifest row is appended
(and synced) to the process's own `manifest.rankR.jsonl`. On a re-run, a job
whose folder exists is skipped; a failed job is tried again. At the end the
main process merges one `DIR/manifest.jsonl`.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import sys
import time
import typing
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any

from pipelines.checks import MAX_SEED
from pipelines.lora import TAG
from studio import operations
from studio.tasks.xy_plot import OPERATIONS as XY_OPERATIONS

# task -> Studio method; audio_to_audio picks one by its `mode`.
METHODS = {name: op.name for op in operations.TABLE if op.batch for name in (op.name, *op.old_names)}
AUDIO_TO_AUDIO = {mode: op.name for mode, op in operations.endpoint_modes("audio_to_audio").items()}
# Jobs run grouped by model family (the operation's preset section), so each model is loaded once per process.
FAMILY = {op.name: operations.SECTIONS.index(op.section) for op in operations.TABLE}
FILE_FIELDS = {"image", "audio", "melody", "mask"}  # paths relative to the jobs file
BATCH_LIMIT = 4  # text-to-image jobs per batched pass
NOT_JOB_FIELDS = operations.PYTHON_ONLY


@dataclass
class Job:
    line: int
    task: str  # as written in the file
    method: str  # the Studio method that runs it
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def folder_name(self) -> str:
        return f"{self.line:05d}"


class JobFileError(ValueError):
    """The jobs file is invalid; the message names the line and the field."""


def parse_jobs(path: str | os.PathLike, studio_class) -> list[Job]:
    """Every job of the file, checked; raises `JobFileError` naming each bad line."""
    path = Path(path)
    if not path.is_file():
        raise JobFileError(f"jobs file {str(path)!r} does not exist")
    jobs, errors = [], []
    with open(path, encoding="utf-8") as file:
        for number, text in enumerate(file, 1):
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            try:
                jobs.append(_parse_line(number, text, path.parent, studio_class))
            except JobFileError as error:
                errors.append(str(error))
    if errors:
        shown = "\n".join(errors[:20]) + (f"\n... and {len(errors) - 20} more" if len(errors) > 20 else "")
        raise JobFileError(f"{path.name}: {len(errors)} invalid line(s), nothing was run:\n{shown}")
    if not jobs:
        raise JobFileError(f"{path.name} holds no jobs (one JSON object per line)")
    return jobs


def _parse_line(number: int, text: str, base: Path, studio_class) -> Job:
    def fail(message: str) -> JobFileError:
        return JobFileError(f"line {number}: {message}")

    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise fail(f"not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(data, dict):
        raise fail("must be a JSON object like {\"task\": \"text_to_image\", \"prompt\": \"...\"}")
    task = data.pop("task", None)
    if task == "audio_to_audio":
        mode = data.pop("mode", None)
        if mode not in AUDIO_TO_AUDIO:
            raise fail(f"field 'mode' must be one of {', '.join(AUDIO_TO_AUDIO)} for audio_to_audio, got {mode!r}")
        method_name = AUDIO_TO_AUDIO[mode]
    elif task in METHODS:
        method_name = METHODS[task]
    else:
        raise fail(f"field 'task' must be one of {', '.join([*METHODS, 'audio_to_audio'])}, got {task!r}")
    method = getattr(studio_class, method_name, None)
    if method is None:
        raise fail(f"task {task!r} is not available in this version of the studio")
    plot = None
    if task == "xy_plot":  # {"task": "xy_plot", "plot": "text_to_image", "x": [...], ...the operation's settings}
        plot = data.pop("plot", None)
        if plot not in XY_OPERATIONS:
            raise fail(f"field 'plot' must be one of {', '.join(XY_OPERATIONS)} for xy_plot, got {plot!r}")
        method = getattr(studio_class, plot)
    signature = inspect.signature(method)
    parameters = {n: p for n, p in signature.parameters.items() if n not in NOT_JOB_FIELDS}
    if plot is not None:
        axes = inspect.signature(studio_class.xy_plot).parameters
        parameters.update({n: axes[n] for n in ("x", "y")})
    hints = typing.get_type_hints(method)
    for name, value in data.items():
        if name not in parameters:
            raise fail(f"field {name!r} is not a setting of {method_name}; expected one of: {', '.join(parameters)}")
        problem = _type_problem(hints.get(name), value)
        if problem:
            raise fail(f"field {name!r} {problem}")
    declared = operations.get(plot or method_name).settings()
    for setting in declared.only(data):  # a declared setting's range and choices stop the file, not the run
        try:
            setting.check(data[setting.name])
        except ValueError as error:
            raise fail(f"field {setting.name!r}: {error}") from None
    missing = [n for n, p in parameters.items() if p.default is inspect.Parameter.empty and n not in data]
    if missing:
        raise fail(f"field {missing[0]!r} is required for {task}")
    for name in FILE_FIELDS & set(data):
        if isinstance(data[name], str):
            resolved = (base / data[name]).expanduser()
            if not resolved.is_file():
                raise fail(f"field {name!r}: file {data[name]!r} does not exist")
            data[name] = str(resolved)
    voice = data.get("voice")
    if isinstance(voice, str) and voice.strip() and (base / voice).expanduser().is_file():
        data["voice"] = str((base / voice).expanduser())  # a recording to clone, beside the jobs file; else a voice name
    for index, entry in enumerate(data.get("control") or []):  # ControlNet images: relative to the jobs file too
        if isinstance(entry, dict) and isinstance(entry.get("image"), str):
            resolved = (base / entry["image"]).expanduser()
            if not resolved.is_file():
                raise fail(f"field 'control[{index}] image': file {entry['image']!r} does not exist")
            entry["image"] = str(resolved)
    if "seed" in parameters and data.get("seed") in (None, -1):
        # A seed from the line itself: the same on every run and in every process.
        digest = hashlib.sha256(f"{number}:{json.dumps(data, sort_keys=True)}".encode()).hexdigest()
        data["seed"] = int(digest[:8], 16) % (MAX_SEED + 1)
    if plot is not None:
        data["task"] = plot  # xy_plot's first argument: the operation it runs
    return Job(number, task, method_name, data)


def _type_problem(hint, value) -> str | None:
    """A coarse type check so a wrong type stops the file, not the run; the ranges of settings not
    declared (`pipelines.settings`) are checked when the job runs."""
    if hint is None or value is None:
        return None
    options = [h for h in typing.get_args(hint) or (hint,) if h is not type(None)]
    kinds = {typing.get_origin(h) or h for h in options}
    if kinds & {int, float} and not (isinstance(value, Real) and not isinstance(value, bool)):
        return f"must be a number, got {json.dumps(value)}"
    if kinds == {str} and not isinstance(value, str):
        return f"must be a string, got {json.dumps(value)}"
    if kinds == {bool} and not isinstance(value, bool):
        return f"must be true or false, got {json.dumps(value)}"
    return None


def plan(jobs: list[Job]) -> list[list[Job]]:
    """Units of work in run order: batched text-to-image groups, then one job per unit."""
    units: list[list[Job]] = []
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        settings = {k: v for k, v in job.kwargs.items() if k not in ("prompt", "seed")}
        # A LoRA applies to its own request only, a hires fix runs two passes and ControlNet another
        # pipeline: none of them is a job for the one-pass batched call.
        plain = (not settings.get("loras") and not TAG.search(str(job.kwargs.get("prompt", "")))
                 and not settings.get("hires") and not settings.get("control"))
        if job.method == "text_to_image" and settings.get("batch_size", 1) == 1 and plain:
            group = groups.setdefault(json.dumps(settings, sort_keys=True), [])
            group.append(job)
            if len(group) == BATCH_LIMIT:
                units.append(groups.pop(json.dumps(settings, sort_keys=True)))
        else:
            units.append([job])
    units.extend(groups.values())
    # Jobs naming another model run next to each other, so each model loads once.
    return sorted(units, key=lambda unit: (FAMILY.get(unit[0].method, 9), str(unit[0].kwargs.get("model") or ""), unit[0].line))


def run_batch(
    jobs_file: str | os.PathLike,
    out: str | os.PathLike,
    *,
    preset: str | None = None,
    progress: bool = True,
    threads: int | None = None,
    models_dir: str | os.PathLike | None = None,
) -> dict:
    """Run every job of `jobs_file` into `out`.

    Returns this process's counts: {"done", "failed", "skipped", "rank", "processes"}.

    On CPU each process computes with `threads` threads (default 1): how a
    multi-threaded matmul rounds depends on the thread count, and the outputs
    must not depend on how many processes share the machine.
    """
    import torch
    from accelerate import PartialState

    from studio.core import Studio

    jobs = parse_jobs(jobs_file, Studio)

    state = PartialState(cpu=not torch.cuda.is_available())
    threads_before = torch.get_num_threads()
    if state.device.type == "cpu":
        torch.set_num_threads(threads or 1)
    try:
        return _run(jobs, Path(out), state, preset, progress, models_dir)
    finally:
        torch.set_num_threads(threads_before)


def _run(jobs: list[Job], out: Path, state, preset: str | None, progress: bool, models_dir=None) -> dict:
    from studio.core import Studio

    (out / "jobs").mkdir(parents=True, exist_ok=True)
    if state.is_main_process:  # what a killed run was writing: never finished, so never counted
        for leftover in (out / "jobs").glob(".*.tmp-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in out.glob(".manifest.tmp-*"):
            leftover.unlink(missing_ok=True)
    done_lines = {int(p.name) for p in (out / "jobs").iterdir() if p.is_dir() and p.name.isdigit()}
    todo = [[job for job in unit if job.line not in done_lines] for unit in plan(jobs)]
    todo = [unit for unit in todo if unit]
    state.wait_for_everyone()  # everyone has read what is already done before anyone writes

    studio = Studio(preset=preset, outputs=out, device=str(state.device), models_dir=models_dir)
    manifest = out / f"manifest.rank{state.process_index}.jsonl"
    skipped = len(jobs) - sum(len(u) for u in todo) if state.is_main_process else 0
    counts = {"done": 0, "failed": 0, "skipped": skipped, "rank": state.process_index, "processes": state.num_processes}
    with state.split_between_processes(todo) as mine:
        bar = _progress_bar(sum(len(u) for u in mine), state, progress)
        for unit in mine:
            for job, outcome in _run_unit(studio, unit):
                row = _finish_job(out, job, outcome, state.process_index)
                _append_row(manifest, row)
                counts["done" if row["status"] == "ok" else "failed"] += 1
                bar.update(1)
        bar.close()
    state.wait_for_everyone()
    if state.is_main_process:
        merge_manifest(out, jobs)
    return counts


def _progress_bar(total: int, state, enabled: bool):
    from tqdm.auto import tqdm

    label = f"batch [{state.process_index}]" if state.num_processes > 1 else "batch"
    return tqdm(total=total, desc=label, unit="job", position=state.process_index, file=sys.stderr, disable=not enabled)


def _run_unit(studio, unit: list[Job]):
    """Yield (job, result or exception) for each job of the unit."""
    if len(unit) > 1:
        try:
            settings = {k: v for k, v in unit[0].kwargs.items() if k not in ("prompt", "seed")}
            results = studio.text_to_image_many([j.kwargs["prompt"] for j in unit], [j.kwargs["seed"] for j in unit],
                                                **settings)
        except Exception:  # one bad job spoils the pass: run them one by one to pin it down
            results = None
        if results is not None:
            yield from zip(unit, results, strict=True)
            return
    for job in unit:
        try:
            yield job, getattr(studio, job.method)(**job.kwargs)
        except Exception as error:
            yield job, error


def _finish_job(out: Path, job: Job, outcome, rank: int) -> dict:
    row = {"line": job.line, "task": job.task, "status": "ok", "outputs": [], "seed": job.kwargs.get("seed"), "rank": rank}
    if isinstance(outcome, Exception):
        return {**row, "status": "error", "error": f"{type(outcome).__name__}: {outcome}"}
    try:
        row["outputs"] = _write_outputs(out, job, outcome)
    except Exception as error:
        return {**row, "status": "error", "error": f"{type(error).__name__}: {error}"}
    return row


def _write_outputs(out: Path, job: Job, result) -> list[str]:
    from studio import outputs

    final = out / "jobs" / job.folder_name
    staging = out / "jobs" / f".{job.folder_name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        if type(result).__name__ in outputs.SAVERS:
            names = [p.name for p in outputs.save_in(result, staging)]
        else:  # a plain value (next_token's rows): JSON with the job as its recipe
            recipe = {"task": job.task, **job.kwargs}
            data = json.dumps({"recipe": recipe, "result": result}, ensure_ascii=False, indent=1, default=str)
            names = [p.name for p in outputs.write_files(staging, job.task, {".json": lambda f: f.write(data.encode())})]
        os.rename(staging, final)  # the job is complete only once its folder has its final name
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [str((final / name).relative_to(out)) for name in names]


def _append_row(manifest: Path, row: dict) -> None:
    with open(manifest, "a", encoding="utf-8") as file:
        file.write(json.dumps(row, ensure_ascii=False) + "\n")
        file.flush()
        os.fsync(file.fileno())


def merge_manifest(out: Path, jobs: list[Job]) -> Path:
    """One `manifest.jsonl` in line order from every process's rows and the previous manifest."""
    rows: dict[int, dict] = {}
    sources = [out / "manifest.jsonl", *sorted(out.glob("manifest.rank*.jsonl"))]
    for source in sources:
        if source.is_file():
            for text in source.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(text)
                except json.JSONDecodeError:
                    continue  # a row cut by a crash: the job is judged by its folder below
                if row.get("status") == "ok" or rows.get(row["line"], {}).get("status") != "ok":
                    rows[row["line"]] = row
    for job in jobs:  # a job folder without a row: the process died between the two writes
        folder = out / "jobs" / job.folder_name
        if folder.is_dir() and rows.get(job.line, {}).get("status") != "ok":
            files = sorted(str(p.relative_to(out)) for p in folder.iterdir())
            rows[job.line] = {"line": job.line, "task": job.task, "status": "ok", "outputs": files, "seed": job.kwargs.get("seed")}
    target = out / "manifest.jsonl"
    staging = out / f".manifest.tmp-{os.getpid()}-{time.monotonic_ns()}"
    staging.write_text("".join(json.dumps(rows[k], ensure_ascii=False) + "\n" for k in sorted(rows)), encoding="utf-8")
    os.replace(staging, target)
    for source in sources[1:]:
        source.unlink(missing_ok=True)
    return target

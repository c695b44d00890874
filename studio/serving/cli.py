"""The `studio` command: one verb per operation, `serve` for the UI, `batch` for job files.

Each operation's verb and options are read off the `Studio` method, so they
always match the Python keywords: `studio text-to-image "a fox" --seed 1 --steps 2`.
Files are written with their recipe and their paths printed; progress goes to
stderr; bad input prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import types
import typing
from pathlib import Path
from typing import Any

from studio import operations

# Studio methods exposed as verbs (the operations table's), in the order of the UI's tabs.
OPERATIONS = [op.name for op in operations.TABLE if op.cli]
SKIPPED = operations.PYTHON_ONLY


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        raise SystemExit(2)
    from pipelines.errors import UserFacingError

    try:
        args.handler(args)
    except (ValueError, UserFacingError) as error:
        print(f"studio: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def build_parser() -> argparse.ArgumentParser:
    from studio import __version__
    from studio.core import Studio

    parser = argparse.ArgumentParser(prog="studio", description="Chat, text, images, speech and music from one studio.")
    parser.add_argument("--version", action="version", version=f"studio {__version__}")
    verbs = parser.add_subparsers(title="verbs", metavar="VERB")
    _add_serve(verbs)
    _add_batch(verbs)
    _add_models(verbs)
    for name in OPERATIONS:
        method = getattr(Studio, name, None)
        if name == "xy_plot":
            _add_xy_plot(verbs, Studio)
        elif method is not None:
            _add_operation(verbs, name, method)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", help="tiny, cpu, gpu, zerogpu or a .toml path (default: $STUDIO_PRESET, else by hardware)")
    parser.add_argument("--models-dir", help="models folder in AUTOMATIC1111's layout (default: $STUDIO_MODELS, else ./models)")


def _add_serve(verbs) -> None:
    serve = verbs.add_parser("serve", help="run the web UI")
    _common(serve)
    serve.add_argument("--host", help="address to bind (default: 127.0.0.1; 0.0.0.0 on Hugging Face Spaces)")
    serve.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    serve.add_argument("--concurrency", type=int, default=1, help="generations run at once on the device (default 1)")
    serve.add_argument("--queue-size", type=int, default=64, help="requests waiting at most; more are refused (default 64)")
    serve.add_argument("--max-file-size", default="50mb", help="largest upload accepted (default 50mb)")
    serve.add_argument("--mcp", action=argparse.BooleanOptionalAction, default=True,
                       help="serve the operations as MCP tools at /gradio_api/mcp/ (default on; off with a login)")
    serve.set_defaults(handler=_serve)


def _serve(args) -> None:
    from studio.core import Studio
    from studio.serving.serve import launch

    launch(Studio(preset=args.preset, models_dir=args.models_dir), host=args.host, port=args.port,
           concurrency=args.concurrency, queue_size=args.queue_size, max_file_size=args.max_file_size, mcp=args.mcp)


def _add_batch(verbs) -> None:
    batch = verbs.add_parser("batch", help="run a JSONL file of jobs (also under torchrun / accelerate launch)",
                             description="Each line: {\"task\": \"text_to_image\", \"prompt\": \"...\", \"seed\": 1}. "
                             "The file is checked first; re-running skips finished jobs.")
    _common(batch)
    batch.add_argument("jobs", metavar="JOBS.jsonl")
    batch.add_argument("--out", required=True, help="folder for the outputs and manifest.jsonl")
    batch.add_argument("--no-progress", action="store_true", help="no progress bar")
    batch.add_argument("--threads", type=int, help="CPU threads per process (default 1, so outputs do not depend on the process count)")
    batch.set_defaults(handler=_batch)


def _batch(args) -> None:
    from studio.serving.batch import run_batch

    counts = run_batch(args.jobs, args.out, preset=args.preset, progress=not args.no_progress, threads=args.threads,
                       models_dir=args.models_dir)
    who = f"batch [process {counts['rank']}]" if counts["processes"] > 1 else "batch"
    print(f"{who}: {counts['done']} done, {counts['failed']} failed, {counts['skipped']} already done", file=sys.stderr)
    if counts["failed"]:
        raise SystemExit(1)


def _add_models(verbs) -> None:
    from studio.library.catalog import FOLDERS

    models = verbs.add_parser("models", help="list the models each task can use (preset, Hugging Face cache, models folder)")
    _common(models)
    models.add_argument("task", nargs="?", help=f"one of {', '.join(FOLDERS)} (default: all)")
    models.add_argument("--json", action="store_true", help="one JSON object per line")
    models.set_defaults(handler=_models)


def _models(args) -> None:
    from studio.core import Studio

    rows = Studio(preset=args.preset, models_dir=args.models_dir).list_models(args.task)
    for row in rows:
        if args.json:
            print(json.dumps(row, ensure_ascii=False))
        else:
            marks = ("*" if row["default"] else " ") + ("" if row["downloaded"] else " (not downloaded)")
            print(f"{row['task']:<11} {row['source']:<6} {row['name']}{marks}")


def _add_operation(verbs, name: str, method) -> None:
    doc = inspect.getdoc(method) or ""
    verb = verbs.add_parser(name.replace("_", "-"), help=doc.split("\n")[0], description=doc)
    _options(verb, method, name)
    verb.set_defaults(handler=lambda args: _run_operation(name, method, args))


def _add_xy_plot(verbs, studio_class) -> None:
    """`studio xy-plot text-to-image --x steps=10,20,30 --y guidance=4,7 "a fox" --seed 1`: the verb of
    each image operation, with the axes."""
    from studio.tasks.xy_plot import OPERATIONS as PLOTTED

    doc = inspect.getdoc(studio_class.xy_plot) or ""
    verb = verbs.add_parser("xy-plot", help=doc.split("\n")[0], description=doc)
    tasks = verb.add_subparsers(title="operation", metavar="OPERATION", required=True)
    for name in PLOTTED:
        method = getattr(studio_class, name)
        task = tasks.add_parser(name.replace("_", "-"), help=f"an X/Y plot of {name}")
        for axis, required in (("x", True), ("y", False)):
            task.add_argument(f"--{axis}", required=required, type=_axis, metavar="SETTING=V1,V2,...",
                              help=f"the setting varied {'across' if axis == 'x' else 'down'} and its values "
                              "(| between values that hold commas); prompt_sr replaces its first value in the prompt")
        _options(task, method, name)
        task.set_defaults(handler=lambda args, name=name, method=method: _run_operation(
            "xy_plot", method, args, first=(name,), axes={"x": args.x, "y": args.y}))


def _axis(text: str) -> tuple[str, str]:
    setting, equals, values = text.partition("=")
    if not equals or not setting.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not SETTING=VALUES, like steps=10,20,30")
    return setting.strip().replace("-", "_"), values


def _options(verb, method, operation: str) -> None:
    """The common options, --out, and one argument per keyword of `method`; a declared setting's
    help (its range or choices, unit and default) is its `--help` line."""
    _common(verb)
    verb.add_argument("--out", help="folder for the files (default: $STUDIO_OUTPUTS, else ./outputs)")
    hints = typing.get_type_hints(method)
    declared = operations.get(operation).settings()
    for parameter in inspect.signature(method).parameters.values():
        if parameter.name in SKIPPED:
            continue
        kind = _plain_type(hints.get(parameter.name, str))
        option = f"--{parameter.name.replace('_', '-')}"
        shown = {"help": declared[parameter.name].describe()} if parameter.name in declared else {}
        if kind is bool and str in typing.get_args(hints.get(parameter.name)):  # e.g. timestamps: true|false|word
            verb.add_argument(option, dest=parameter.name, type=_bool_or_text, metavar="true|false|TEXT", **shown)
        elif parameter.default is inspect.Parameter.empty:
            verb.add_argument(parameter.name, type=_converter(kind), metavar=parameter.name.upper(), **shown)
        elif kind is bool:
            verb.add_argument(option, dest=parameter.name, action=argparse.BooleanOptionalAction, **shown)
        else:
            verb.add_argument(option, dest=parameter.name, type=_converter(kind), **shown)


def _plain_type(hint: Any) -> Any:
    """`int | None` -> int; other unions and containers -> their first concrete type."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        options = [h for h in typing.get_args(hint) if h is not type(None)]
        return _plain_type(options[0]) if options else str
    return typing.get_origin(hint) or hint


def _converter(kind: Any):
    if kind in (int, float, str):
        return kind
    if kind in (list, dict):
        return _json_or_text
    return str


def _bool_or_text(text: str) -> bool | str:
    """"true"/"false" as booleans, any other word as itself (the operation checks it)."""
    return {"true": True, "false": False}.get(text.lower(), text)


def _json_or_text(text: str) -> Any:
    """A JSON list/object, or plain text when it does not parse as one."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return value if isinstance(value, (list, dict)) else text


def _run_operation(name: str, method, args, first: tuple = (), axes: dict | None = None) -> None:
    """Run `name` with the options of `method` (the same, except for an X/Y plot: the plotted operation's)."""
    from studio.core import Studio

    studio = Studio(preset=args.preset, outputs=args.out, models_dir=args.models_dir)
    names = [p for p in inspect.signature(method).parameters if p not in SKIPPED]
    values = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    values.update({axis: value for axis, value in (axes or {}).items() if value is not None})
    result = getattr(studio, name)(*first, **values)
    if isinstance(getattr(result, "text", None), str):
        print(result.text)
    for path in studio.save(result):
        print(Path(path))

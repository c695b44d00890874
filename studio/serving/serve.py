"""Serving the UI: queue, limits, address and login.

Binds 127.0.0.1 unless told otherwise or running on Hugging Face Spaces. Only
the outputs folder (and gradio's own upload cache) is served. Never shares a
public link by itself. A login is required when `STUDIO_USERNAME` and
`STUDIO_PASSWORD` are set. The OpenAI-compatible REST API (`studio.serving.openai_api`)
is mounted at `/v1` on the same server and shares the UI's device queue.
"""

from __future__ import annotations

import os
import sys
import threading


def host_for(requested: str | None) -> str:
    if requested:
        return requested
    return "0.0.0.0" if os.environ.get("SPACE_ID") or os.environ.get("SYSTEM") == "spaces" else "127.0.0.1"


def login_from_env() -> list[tuple[str, str]] | None:
    user, password = os.environ.get("STUDIO_USERNAME"), os.environ.get("STUDIO_PASSWORD")
    return [(user, password)] if user and password else None


def launch(studio, *, host=None, port=7860, concurrency=1, queue_size=64, max_file_size="50mb", block=True, mcp=True):
    from gradio.utils import _parse_file_size
    from starlette.middleware import Middleware
    from starlette.routing import Mount

    from pipelines.devices import compile_requested
    from studio.outputs.files import OutputError, remove_staging
    from studio.serving import mcp as mcp_tools
    from studio.serving.access import Gate
    from studio.serving.body_limit import BodyLimit
    from studio.serving.device_queue import DeviceQueue, Queued
    from studio.serving.openai_api import build_api
    from studio.ui import build_app, head, labels
    from studio.ui.uploads import remove_cut_uploads
    from studio.ui.zerogpu import on_zerogpu

    try:  # before anything loads: a server that cannot save would fail every request
        studio.outputs.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"the outputs folder {studio.outputs} cannot be made ({error.strerror or error}); "
                          "set STUDIO_OUTPUTS to a writable folder") from None
    remove_staging(studio.outputs)  # what a killed server left half-saved
    remove_cut_uploads()
    if on_zerogpu():  # each ZeroGPU call runs in a worker that keeps nothing: load everything once, here
        studio.preload()
    elif compile_requested():  # the compile is paid before the server opens, not by a user's first image
        print("STUDIO_COMPILE=1: compiling the image model before serving (minutes on a CPU the first time; "
              "torch's compile cache makes the next starts faster)", file=sys.stderr, flush=True)
        studio.warm_up()
    # Resolving "auto" imports torch (seconds): done meanwhile, so the first page names the device at once.
    threading.Thread(target=lambda: studio.device, name="studio-device", daemon=True).start()
    # UI events and REST calls wait on one device queue: with concurrency 1, one model runs at a time.
    shared = Queued(studio, DeviceQueue(concurrency, max_waiting=queue_size))
    app = build_app(shared, concurrency_limit=concurrency)
    app.queue(max_size=queue_size, default_concurrency_limit=concurrency)
    api = build_api(shared, max_upload=_parse_file_size(max_file_size), waiting=queue_size)
    login = login_from_env()
    mcp = mcp_tools.wanted(mcp, login=login is not None)
    if mcp:
        mcp_tools.describe_tools(app, type(studio))
    app.launch(
        server_name=host_for(host),
        server_port=port,
        max_file_size=max_file_size,
        allowed_paths=[str(studio.outputs.resolve())],
        auth=login,
        app_kwargs={
            # Around every route: no URL fetched for a client; with a login, nothing for strangers but the login page;
            # no request body past the upload limit (gradio's own routes read a JSON body whole, as FastAPI does).
            "middleware": [Middleware(Gate, login_required=login is not None),
                           Middleware(BodyLimit, limit=_parse_file_size(max_file_size))],
            "routes": [Mount("/v1", app=api)],  # the OpenAI-compatible API, before gradio's own routes
        },
        i18n=labels(),
        head=head(),
        share=False,
        show_error=True,
        # gradio's /monitoring would print its dashboard key to the server log at any visitor's
        # request, and /monitoring/summary shows every user's traffic to anyone.
        enable_monitoring=False,
        prevent_thread_lock=not block,
        mcp_server=mcp,
    )
    return app

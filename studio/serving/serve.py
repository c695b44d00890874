"""Serving the UI: queue, limits, address and login.

Binds 127.0.0.1 unless told otherwise or running on Hugging Face Spaces. Only
the outputs folder (and gradio's own upload cache) is served. Never shares a
public link by itself. A login is required when `STUDIO_USERNAME` and
`STUDIO_PASSWORD` are set.
"""

from __future__ import annotations

import os


def host_for(requested: str | None) -> str:
    if requested:
        return requested
    return "0.0.0.0" if os.environ.get("SPACE_ID") or os.environ.get("SYSTEM") == "spaces" else "127.0.0.1"


def login_from_env() -> list[tuple[str, str]] | None:
    user, password = os.environ.get("STUDIO_USERNAME"), os.environ.get("STUDIO_PASSWORD")
    return [(user, password)] if user and password else None


def launch(studio, *, host=None, port=7860, concurrency=1, queue_size=64, max_file_size="50mb", block=True):
    from studio.outputs import OutputError
    from studio.ui import build_app, labels
    from studio.ui.zerogpu import on_zerogpu

    try:  # before anything loads: a server that cannot save would fail every request
        studio.outputs.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"the outputs folder {studio.outputs} cannot be made ({error.strerror or error}); "
                          "set STUDIO_OUTPUTS to a writable folder") from None
    if on_zerogpu():  # each ZeroGPU call runs in a worker that keeps nothing: load everything once, here
        studio.preload()
    app = build_app(studio, concurrency_limit=concurrency)
    app.queue(max_size=queue_size, default_concurrency_limit=concurrency)
    app.launch(
        server_name=host_for(host),
        server_port=port,
        max_file_size=max_file_size,
        allowed_paths=[str(studio.outputs.resolve())],
        auth=login_from_env(),
        i18n=labels(),
        share=False,
        show_error=True,
        # gradio's /monitoring would print its dashboard key to the server log at any visitor's
        # request, and /monitoring/summary shows every user's traffic to anyone.
        enable_monitoring=False,
        prevent_thread_lock=not block,
    )
    return app

"""An OpenAI-compatible REST API under `/v1`, served by the same process, port, model cache and device queue as the UI.

`build_api(studio)` returns a FastAPI application that `studio.serving` mounts
at `/v1` on gradio's server. Its routes call the `Studio` only (a `Queued` one:
a REST call waits its turn on the device like a click), one module per group:
`models`, `text` (chat and completions), `audio` (speech, transcriptions,
translations), `images` (generations, edits, and the files they link to).
"""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request

from studio.serving.openai_api import audio, errors, images, models, text
from studio.serving.openai_api.auth import Access
from studio.serving.openai_api.context import Context


def build_api(studio, *, access: Access | None = None, max_upload: int | None = None, waiting: int = 64) -> FastAPI:
    """The `/v1` application over `studio` (give it a `Queued` studio to share the device's queue)."""
    ctx = Context(studio=studio, access=access if access is not None else Access.from_env(), max_upload=max_upload,
                  threads=waiting + 8)

    async def allowed(request: Request) -> None:
        ctx.access.check(request)

    # The schema is served as a route of its own, behind the key like every other: FastAPI's own
    # openapi_url would answer anyone, a server with a login and no key included.
    api = FastAPI(title="Studio OpenAI-compatible API", docs_url=None, redoc_url=None, openapi_url=None)
    api.state.ctx = ctx

    @api.get("/openapi.json", include_in_schema=False, dependencies=[Depends(allowed)])
    async def schema():
        return api.openapi()

    errors.install(api)
    for module in (models, text, audio, images):
        api.include_router(module.router, dependencies=[Depends(allowed)])
    api.include_router(images.files)  # checks a signature or the key itself
    return api

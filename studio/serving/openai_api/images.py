"""`POST /v1/images/generations` and `/v1/images/edits` (image-to-image; with a `mask`, inpainting), and the files their URLs name.

Beside OpenAI's fields, the studio's own: `seed`, `steps`, `guidance`,
`negative_prompt`, `scheduler` (and `strength` for edits). Every image is saved
in the outputs folder with its recipe; `response_format` url answers links to
those files under `/v1/outputs/`, signed so that a page can show them without
the API key.
"""

from __future__ import annotations

import base64
import re
import tempfile
import time
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict

from studio.serving.openai_api import models, uploads
from studio.serving.openai_api.errors import ApiError, bad_field

router = APIRouter()
files = APIRouter()  # /outputs: its own access rule (a signature or the key)

FORMATS = ("url", "b64_json")
ALIASES = {"batch_size": "n", "width": "size", "height": "size"}


class GenerationRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    prompt: str
    model: str = "default"
    n: int | None = None
    size: str | None = None
    response_format: str | None = "url"
    output_format: str | None = None
    negative_prompt: str | None = None   # the studio's own fields from here on
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    scheduler: str | None = None


def _size(size: str | None) -> dict:
    if size in (None, "", "auto"):
        return {}
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(size))
    if not match:
        raise bad_field("size", f"size must be WIDTHxHEIGHT in pixels (e.g. '512x512') or 'auto', got {size!r}")
    return {"width": int(match.group(1)), "height": int(match.group(2))}


def _format(response_format: str | None, output_format: str | None) -> str:
    if output_format not in (None, "png"):
        raise bad_field("output_format", f"output_format must be png, got {output_format!r}")
    chosen = response_format or "url"
    if chosen not in FORMATS:
        raise bad_field("response_format", f"response_format must be url or b64_json, got {chosen!r}")
    return chosen


async def _answer(ctx, request: Request, result, response_format: str) -> dict:
    # The images come first in what `save` writes (an inpaint's mask follows them).
    paths = [p for p in await ctx.run(ctx.studio.save, result) if p.suffix == ".png"][:len(result.images)]
    root = Path(ctx.studio.outputs).resolve()
    data = []
    for path, seed in zip(paths, result.seeds, strict=True):
        if response_format == "b64_json":
            item = {"b64_json": base64.b64encode(path.read_bytes()).decode()}
        else:
            name = path.resolve().relative_to(root).as_posix()
            item = {"url": f"{request.url_for('output', name=name)}?sig={ctx.sign(name)}"}
        data.append({**item, "revised_prompt": None, "seed": seed})
    return {"created": int(time.time()), "data": data}


@router.post("/images/generations")
async def generations(body: GenerationRequest, request: Request):
    ctx = request.app.state.ctx
    chosen = models.keywords(ctx.studio, "images", models.pick(ctx.studio, "images", body.model))
    response_format = _format(body.response_format, body.output_format)
    result = await ctx.run(ctx.studio.text_to_image, body.prompt, negative_prompt=body.negative_prompt, steps=body.steps,
                           guidance=body.guidance, seed=body.seed, batch_size=body.n, scheduler=body.scheduler,
                           aliases=ALIASES, **_size(body.size), **chosen)
    return await _answer(ctx, request, result, response_format)


@router.post("/images/edits")
async def edits(request: Request):
    ctx = request.app.state.ctx
    form = await uploads.read_form(request, ctx.max_upload)
    chosen = models.keywords(ctx.studio, "images", models.pick(ctx.studio, "images", uploads.text(form, "model", "default")))
    if len(form.getlist("image[]")) > 1 or len(form.getlist("image")) > 1:
        raise bad_field("image", "image must be one image; image-to-image redraws one at a time")
    image = uploads.upload(form, "image", "image[]")
    mask = uploads.upload(form, "mask", required=False)
    prompt = uploads.text(form, "prompt")
    if prompt is None:
        raise ApiError(400, "prompt is required", param="prompt", code="missing_field")
    response_format = _format(uploads.text(form, "response_format"), uploads.text(form, "output_format"))
    settings = dict(negative_prompt=uploads.text(form, "negative_prompt"), strength=uploads.number(form, "strength"),
                    steps=uploads.number(form, "steps", int), guidance=uploads.number(form, "guidance"),
                    seed=uploads.number(form, "seed", int), batch_size=uploads.number(form, "n", int),
                    scheduler=uploads.text(form, "scheduler"), **_size(uploads.text(form, "size")))
    with tempfile.TemporaryDirectory(prefix="studio-upload-") as folder:
        path = await uploads.spooled(image, folder)
        if mask is None:  # image-to-image
            result = await ctx.run(ctx.studio.image_to_image, str(path), prompt, aliases=ALIASES, **settings, **chosen)
        else:  # the white part of the mask redrawn, the rest kept
            masked = await uploads.spooled(mask, folder)
            result = await ctx.run(ctx.studio.inpaint, str(path), str(masked), prompt, aliases=ALIASES, **settings,
                                   **chosen)
    return await _answer(ctx, request, result, response_format)


@files.get("/outputs/{name:path}", name="output")
async def output(name: str, request: Request, sig: str | None = None):
    """An image this API made: with its URL's signature, or with the key where no signature is given."""
    ctx = request.app.state.ctx
    if not ctx.signed(name, sig):
        ctx.access.check(request)
    root = Path(ctx.studio.outputs).resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root) or not path.is_file() or path.suffix.lower() != ".png":
        raise ApiError(404, "no such output", code="not_found")
    return FileResponse(path, media_type="image/png")

"""Multipart requests (audio and image uploads) read under the server's upload limit.

The body is counted as it arrives: past the limit the answer is 413 at once,
before anything is parsed or written. Form fields come back as text; the helpers
turn them into numbers with an error that names the field.
"""

from __future__ import annotations

import math
from pathlib import Path

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect

from studio.serving.openai_api.errors import ApiError, bad_field


async def read_form(request: Request, limit: int | None) -> FormData:
    too_big = ApiError(413, f"the request is larger than the server's upload limit ({_size(limit)}); "
                       "send a smaller file or start the server with a larger --max-file-size", code="file_too_large")
    declared = request.headers.get("content-length", "")
    if limit is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ApiError(400, "this route takes multipart/form-data (a file and form fields)", code="invalid_content_type")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if limit is not None and size > limit:
                raise too_big
            chunks.append(chunk)
    except ClientDisconnect:  # the client left mid-upload: its mistake, not a server failure logged with a traceback
        raise ApiError(400, "the upload was cut off before its end; send the whole file", code="upload_cut") from None
    body = b"".join(chunks)

    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await Request(request.scope, replay).form(max_part_size=max(limit or 0, 1024 * 1024))
    except Exception as error:  # a malformed body is the client's: 400, never 500
        # Starlette says what is wrong in an HTTPException's detail ("Missing boundary in multipart.",
        # "Too many fields..."); an exception's class name would tell the client nothing.
        detail = (error.detail if isinstance(error, HTTPException) else error.message if isinstance(error, MultiPartException)
                  else "it is not multipart/form-data.")
        raise ApiError(400, f"the multipart body could not be read: {detail} Send the file and fields as "
                       "multipart/form-data (curl -F, or the openai client)", code="invalid_multipart") from None


def _size(limit: int | None) -> str:
    return "no limit" if limit is None else f"{limit / 2**20:g} MiB"


def upload(form: FormData, *names: str, required: bool = True) -> UploadFile | None:
    """The file sent under the first of `names` (e.g. "image", "image[]")."""
    for name in names:
        value = form.get(name)
        if isinstance(value, UploadFile):
            return value
        if value not in (None, ""):
            raise bad_field(name, f"{name} must be a file (multipart upload), got text")
    if required:
        raise ApiError(400, f"{names[0]} is required (a file in the multipart body)", param=names[0], code="missing_field")
    return None


async def spooled(file: UploadFile, folder: str) -> Path:
    """`file` written into `folder` (the request's own) under the client's file name made safe, so the
    studio's messages name the file the user sent ("audio file 'talk.wav' could not be read ..."):
    the last part of the name only, its letters, digits, ".", "-" and "_", at most 80 of them."""
    name = "".join(c for c in Path((file.filename or "").replace("\\", "/")).name if c.isalnum() or c in "._-")
    name = name[-80:].lstrip(".") or "upload"
    path, n = Path(folder) / name, 1
    while path.exists():  # an image and its mask sent under one name
        path, n = Path(folder) / f"{n}-{name}", n + 1
    path.write_bytes(await file.read())
    return path


def text(form: FormData, name: str, default: str | None = None) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise bad_field(name, f"{name} must be text, got a file")
    return value


def number(form: FormData, name: str, kind=float):
    value = text(form, name)
    if value is None:
        return None
    try:
        parsed = kind(value)
    except ValueError:
        raise bad_field(name, f"{name} must be {'a whole number' if kind is int else 'a number'}, got {value!r}") from None
    if isinstance(parsed, float) and not math.isfinite(parsed):
        raise bad_field(name, f"{name} must be a finite number, got {value!r}")
    return parsed


def texts(form: FormData, name: str) -> list[str]:
    """A list field as clients send it: `name[]` repeated (or `name`)."""
    return [v for key in (f"{name}[]", name) for v in form.getlist(key) if isinstance(v, str) and v]

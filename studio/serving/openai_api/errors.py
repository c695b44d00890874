"""Errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` with the right status.

Bad input is the studio's own `ValueError` message (it names the field, the value
and the range), answered 400 with `param` set to the request field it came from.
Nothing a client sends gets a 500; an unexpected failure is logged with its
traceback and answered with a message that holds no server detail.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from pipelines.errors import Cancelled, ModelLoadError, OutOfMemory, UserFacingError
from studio.serving.device_queue import QueueFull

log = logging.getLogger("studio.api")


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 kind: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.headers = status, message, param, code, headers
        self.kind = kind or ("invalid_request_error" if status < 500 else "server_error")

    def response_body(self) -> dict:
        return {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.response_body()}, status_code=self.status, headers=self.headers)


def bad_field(param: str, message: str) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_value")


def from_studio(error: Exception, aliases: dict[str, str] | None = None) -> ApiError:
    """The ApiError answering a `Studio` call's exception.

    `aliases` maps the studio's keyword names to the request's field names
    (`max_new_tokens` -> `max_tokens`) so that `param` names what the client sent.
    """
    if isinstance(error, ApiError):
        return error
    message = str(error)
    if isinstance(error, ValueError):
        field = _field_named(message)
        param = (aliases or {}).get(field, field)
        if param and field and param != field:
            message = f"{message} (request field '{param}')"
        return ApiError(400, message, param=param, code="invalid_value")
    if isinstance(error, QueueFull):
        return ApiError(503, message, code="queue_full", headers={"Retry-After": "5"})
    if isinstance(error, OutOfMemory):
        return ApiError(503, message, code="out_of_memory")
    if isinstance(error, ModelLoadError):
        return ApiError(503, message, code="model_unavailable")
    if isinstance(error, Cancelled):
        return ApiError(503, message, code="cancelled")
    if isinstance(error, UserFacingError):
        return ApiError(500, message, code="studio_error")
    log.error("REST request failed", exc_info=error)
    return ApiError(500, "the studio failed while serving this request; the server log has the details",
                    code="internal_error")


def _field_named(message: str) -> str | None:
    """The field a studio message opens with: "width must be ..." -> "width".

    A choice's message opens with "unknown" ("unknown scheduler 'x'; choose one of ..."):
    the field is the word after it.
    """
    match = re.match(r"(?:unknown\s+)?([a-z_][a-z0-9_]*)(\[\d+\])?\s", message)
    return match.group(1) if match else None


def install(app: FastAPI) -> None:
    """Every error the sub-application can raise, answered in OpenAI's shape."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError):
        return error.response()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError):
        return validation_error(error.errors()).response()

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(error.status_code)
        message = "no such route; the REST API's routes are listed in the README" if error.status_code == 404 else str(error.detail)
        if error.status_code == 400 and error.detail == "There was an error parsing the body":
            # FastAPI's words for a body it could not decode (not UTF-8, nested too deep): say what it wants
            message, code = BODY_WANTED, "invalid_json"
        return ApiError(error.status_code, message, code=code).response()

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        return from_studio(error).response()


BODY_WANTED = ("the request body must be one JSON object of the route's fields (see the README), "
               "UTF-8 encoded, sent with Content-Type: application/json")


def _param(loc) -> str | None:
    """The request field a validation error is about, with its indexes ("messages[2]").

    Pydantic adds the member of a union it tried ("str" in stop.str) and the key of a
    nested value: neither is a field the client can name, so the path ends there.
    """
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path") else loc)
    if not parts or not isinstance(parts[0], str):
        return None
    param = parts[0]
    for part in parts[1:]:
        if not isinstance(part, int):
            break
        param += f"[{part}]"
    return param


def validation_error(errors: list[dict]) -> ApiError:
    """FastAPI's request validation answered 400 (not 422), naming the first field at fault."""
    first = errors[0] if errors else {}
    param = _param(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        return ApiError(400, "the request body is not valid JSON", code="invalid_json")
    if param is None:  # the body itself: empty, a list or a string, or sent as another content type
        return ApiError(400, BODY_WANTED, code="invalid_json")
    if first.get("type") == "missing":
        return ApiError(400, f"{param} is required", param=param, code="missing_field")
    got = first.get("input")
    shown = f", got {got!r}" if not isinstance(got, (dict, list)) else ""
    return ApiError(400, f"{param}: {first.get('msg', 'invalid value')}{shown}", param=param, code="invalid_value")

"""Request bodies of at most the server's upload limit (`--max-file-size`), multipart uploads aside.

FastAPI reads a JSON body whole before it validates a field, and so do gradio's own
routes, so without a limit one endless body (declared or chunked) would fill the
server's memory. The server holds one around every route, the REST API's included,
answering in the REST API's error shape. Multipart uploads are counted by their
readers (`openai_api.uploads.read_form`, gradio's upload route), whose messages
speak of files.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException

from studio.serving.openai_api.errors import ApiError


def too_large(limit: int) -> str:
    return (f"the request body is larger than the server's limit ({limit / 2**20:g} MiB); send less, or start "
            "the server with a larger --max-file-size")


class BodyLimit:
    def __init__(self, app, *, limit: int | None):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        headers = dict(scope.get("headers", ())) if scope["type"] == "http" else {}
        if self.limit is None or not headers or b"multipart/form-data" in headers.get(b"content-type", b""):
            return await self.app(scope, receive, send)
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:  # refused before a byte of it is read
            return await ApiError(413, too_large(self.limit), code="request_too_large").response()(scope, receive, send)
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:  # a chunked body, or one longer than it declared
                # FastAPI passes an HTTPException raised while it reads the body on to the API's handler
                raise HTTPException(413, too_large(self.limit))
            return message

        await self.app(scope, counted, send)

"""Who may reach what on the web server: the login gate, and the routes no one may use.

`Gate` is plain ASGI middleware, installed around the whole server (the UI,
gradio's API and any route mounted beside them), so every route gets the same
rule without repeating it:

- Nobody makes the server fetch a URL: `/gradio_api/file=https://...` would
  stream any address the server can reach (gradio does it for remote files),
  and `/gradio_api/proxy=` serves remote gradio apps, which the studio never loads.
- With a login set (`STUDIO_USERNAME`/`STUDIO_PASSWORD`), an anonymous visitor
  gets the login page and what it needs to draw itself, nothing else: no API
  schema (gradio writes it into every page, the login page too), no run
  history, no config, no files. Routes under an open prefix (the REST API under
  `/v1`, which checks its own key) pass as they are.

`logged_in(scope)` tells any route whether its request carries a login: a
route of its own can call it with `request.scope`.
"""

from __future__ import annotations

import json
import re
from http.cookies import SimpleCookie
from urllib.parse import unquote

# What the login page loads before anyone has logged in.
PUBLIC_PATHS = {"/", "/login", "/login/", "/logout", "/config", "/config/", "/theme.css", "/favicon.ico",
                "/manifest.json", "/robots.txt", "/login_check", "/gradio_api/login_check", "/gradio_api/startup-events"}
PUBLIC_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon", "/gradio_api/assets/", "/gradio_api/static/")
OPEN_PREFIXES = ("/v1/",)  # the OpenAI-compatible REST API: its own key, its own check
FETCHING = re.compile(r"^/(?:gradio_api/)?(?:file=\s*(?:[a-zA-Z][\w+.-]*:|[/\\]{2})|proxy=)")
API_INFO = re.compile(rb"window\.gradio_api_info = .*?;</script>", re.S)
NO_API_INFO = b'window.gradio_api_info = {"named_endpoints": {}, "unnamed_endpoints": {}};</script>'


def logged_in(scope: dict) -> bool:
    """True when the request carries the cookie of a gradio login (the app must be a gradio `App`)."""
    app = scope.get("app")
    tokens, cookie_id = getattr(app, "tokens", None), getattr(app, "cookie_id", None)
    if not tokens or cookie_id is None:
        return False
    cookies = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                cookies.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is no login
                return False
    return any(key in cookies and cookies[key].value in tokens
               for key in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"))


def fetches_for_the_client(path: str) -> bool:
    """A path asking the server to fetch a URL (or a remote app) on the client's behalf."""
    return bool(FETCHING.match(unquote(path)))


class Gate:
    def __init__(self, app, *, login_required: bool = False, open_prefixes: tuple[str, ...] = OPEN_PREFIXES):
        self.app, self.login_required, self.open_prefixes = app, login_required, open_prefixes

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):] or "/"
        if fetches_for_the_client(path):
            return await _refuse(scope, send, 403, "this server fetches no URL for a client")
        if not self.login_required or path.startswith(self.open_prefixes) or logged_in(scope):
            return await self.app(scope, receive, send)
        if path == "/" and scope["type"] == "http":
            return await self._login_page(scope, receive, send)
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return await self.app(scope, receive, send)
        return await _refuse(scope, send, 401, "Not authenticated")

    async def _login_page(self, scope, receive, send):
        """The page as gradio draws it for a stranger, less the API schema it embeds."""
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]}
        start: dict = {}
        body: list[bytes] = []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            content = API_INFO.sub(lambda _: NO_API_INFO, b"".join(body))
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(content)).encode())]})
            await send({"type": "http.response.body", "body": content})

        await self.app(scope, receive, capture)


async def _refuse(scope, send, status: int, detail: str):
    if scope["type"] == "websocket":
        return await send({"type": "websocket.close", "code": 1008})
    content = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]})
    await send({"type": "http.response.body", "body": content})

"""Who may call the REST API: a Bearer key when `STUDIO_API_KEY` is set.

A server with a login (`STUDIO_USERNAME`/`STUDIO_PASSWORD`) and no key closes the
REST API: the login protects the UI, and a REST route open beside it would be a
way around it. With neither, the API is as open as the UI (bound to 127.0.0.1
unless told otherwise).
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from fastapi import Request

from studio.serving.openai_api.errors import ApiError


@dataclass(frozen=True)
class Access:
    key: str | None = None
    login: bool = False

    @classmethod
    def from_env(cls) -> Access:
        login = bool(os.environ.get("STUDIO_USERNAME") and os.environ.get("STUDIO_PASSWORD"))
        return cls(key=os.environ.get("STUDIO_API_KEY") or None, login=login)

    @property
    def closed(self) -> bool:
        return self.login and not self.key

    def check(self, request: Request) -> None:
        """Raise 401 unless `request` may use the API."""
        if self.closed:
            raise ApiError(401, "the REST API is closed on a server with a login and no key; "
                           "set STUDIO_API_KEY and send it as 'Authorization: Bearer <key>'",
                           code="api_key_required", kind="authentication_error")
        if self.key is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise ApiError(401, "this server needs an API key: send 'Authorization: Bearer <key>' "
                           "(the value of STUDIO_API_KEY)", code="missing_api_key", kind="authentication_error",
                           headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(given.strip().encode(), self.key.encode()):
            raise ApiError(401, "incorrect API key", code="invalid_api_key", kind="authentication_error",
                           headers={"WWW-Authenticate": "Bearer"})

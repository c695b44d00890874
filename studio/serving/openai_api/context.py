"""What every route of the REST API shares: the queued `Studio`, the access rule, limits, and how calls run."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.to_thread

from studio.serving.openai_api.auth import Access
from studio.serving.openai_api.errors import from_studio


@dataclass
class Context:
    studio: Any                      # a `Queued` studio: its operations wait for the device like a click
    access: Access
    max_upload: int | None           # bytes, the server's upload limit
    threads: int = 72                # REST calls waiting or running at once, each on a worker thread
    started: int = field(default_factory=lambda: int(time.time()))
    _secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _limiter: Any = None

    def limiter(self):
        # Its own threads: REST calls waiting for the device must not take the threads gradio serves pages with.
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.threads)
        return self._limiter

    async def run(self, call: Callable, *args, aliases: dict[str, str] | None = None, **kwargs) -> Any:
        """`call(*args, **kwargs)` on a worker thread; its exceptions become OpenAI-shaped errors."""
        try:
            return await anyio.to_thread.run_sync(functools.partial(call, *args, **kwargs), limiter=self.limiter())
        except Exception as error:
            raise from_studio(error, aliases) from None

    def sign(self, name: str) -> str:
        """A signature that lets a client fetch the output `name` without its key (an <img> cannot send one)."""
        return hmac.new(self._secret, name.encode(), hashlib.sha256).hexdigest()[:32]

    def signed(self, name: str, signature: str | None) -> bool:
        return bool(signature) and hmac.compare_digest(self.sign(name), signature)

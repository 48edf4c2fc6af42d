"""What one HTTP request may cost the server, enforced around every route (GraphQL, OpenLineage):

- a body over ``max_body_bytes`` is refused with 413 REQUEST_TOO_LARGE: at once when its
  Content-Length says so, else as soon as the bytes read pass the limit (chunked bodies);
- a request still running after ``request_timeout_seconds`` is answered 504 TIMEOUT;
- a client (its Authorization header, else its address) with ``max_concurrent_requests`` running
  already is answered 429 TOO_MANY_REQUESTS with ``Retry-After``.

The concurrency count is per worker process: with ``--workers N`` a client may have N times as
many requests running. A timed-out request's lake reads that already run in threads finish in
the background; their results are dropped.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph_api.http.protocol import error_body
from graph_api.settings import Settings

RETRY_AFTER_SECONDS = 1


class BodyTooLarge(Exception):
    """Raised into the app by ``receive`` once the body passes the limit; answered here with 413."""


class RequestLimits:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        self.timeout = settings.request_timeout_seconds
        self.max_concurrent = settings.max_concurrent_requests
        self.running: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > self.max_body:
            await _answer(send, 413, "REQUEST_TOO_LARGE", self._too_large(int(declared)))
            return
        key = client_key(scope)
        if self.running[key] >= self.max_concurrent:
            await _answer(send, 429, "TOO_MANY_REQUESTS",
                          f"{self.max_concurrent} requests of this client are running already; retry later",
                          {"Retry-After": str(RETRY_AFTER_SECONDS)})
            return
        self.running[key] += 1
        try:
            await self._run(scope, receive, send)
        finally:
            self.running[key] -= 1
            if self.running[key] <= 0:
                del self.running[key]

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False
        read = 0

        async def limited_receive() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.max_body:
                    raise BodyTooLarge(self._too_large(read))
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, limited_receive, tracked_send), self.timeout)
        except BodyTooLarge as exc:
            if not started:
                await _answer(send, 413, "REQUEST_TOO_LARGE", str(exc))
        except TimeoutError:
            if not started:
                await _answer(send, 504, "TIMEOUT", f"the request took longer than {self.timeout:g} seconds and "
                              "was stopped; ask for less (smaller pages, fewer fields)")

    def _too_large(self, size: int) -> str:
        return f"the request body of {size} bytes or more exceeds the limit of {self.max_body} bytes"


def client_key(scope: Scope) -> str:
    """Whose request this is, for the concurrency limit: its credentials when it has any, else its address."""
    authorization = _header(scope, b"authorization")
    if authorization:
        # a digest, so that no credential is held as a key for longer than its requests run
        return "auth:" + hashlib.sha256(authorization.encode("latin-1")).hexdigest()
    client = scope.get("client")
    return "addr:" + (client[0] if client else "unknown")


async def _answer(send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps(error_body(message, code)).encode("utf-8")
    raw = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return ""


__all__ = ["BodyTooLarge", "RequestLimits", "client_key"]

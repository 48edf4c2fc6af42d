"""Structured logs: one JSON object per line, each carrying the request id of the request it
belongs to, and the ASGI middleware that assigns that id and logs one line per request.

A client's ``X-Request-Id`` is kept when it looks like an id (so a gateway's id follows the
request through); otherwise a fresh one is made. Either way it is echoed in the response.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="")
# what the GraphQL handler learnt about the request, for the request's log line
REQUEST_FACTS: ContextVar[dict[str, Any] | None] = ContextVar("request_facts", default=None)

_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}

access_log = logging.getLogger("graph_api.access")


def current_request_id() -> str:
    return REQUEST_ID.get()


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def note(**facts: Any) -> None:
    """Add facts (operation name, lake reads, ...) to the current request's log line."""
    bag = REQUEST_FACTS.get()
    if bag is not None:
        bag.update(facts)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "") or REQUEST_ID.get()
        if request_id:
            entry["requestId"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "request_id":
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = REQUEST_ID.get()
        return f"{text} [request {request_id}]" if request_id else text


def configure(fmt: str = "json", level: str = "info") -> None:
    """Send every logger (uvicorn's too) to stderr in ``fmt``; replaces earlier handlers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_stamp_request_id)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # the request line below replaces uvicorn's access log
    logging.getLogger("uvicorn.access").disabled = True


def _stamp_request_id(record: logging.LogRecord) -> bool:
    # formatted later (a queue, a test's capture) the record still knows its request
    if not getattr(record, "request_id", ""):
        record.request_id = REQUEST_ID.get()
    return True


class RequestLog:
    """Assigns the request id, echoes it as ``X-Request-Id``, and logs one line per HTTP request and
    one per websocket when it ends (status 101 once accepted, else the HTTP status of the refusal)."""

    def __init__(self, app: ASGIApp, on_done: Callable[[Scope, int, float], None] | None = None) -> None:
        self.app = app
        self.on_done = on_done

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _VALID_ID.match(given) else new_request_id()
        id_token = REQUEST_ID.set(request_id)
        facts: dict[str, Any] = {}
        facts_token = REQUEST_FACTS.set(facts)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            if self.on_done is not None:
                self.on_done(scope, status, elapsed)
            access_log.info("%s %s %d", scope["method"], scope["path"], status, extra={
                "request_id": request_id, "method": scope["method"], "path": scope["path"], "status": status,
                "durationMs": round(elapsed * 1000, 2), **facts})
            REQUEST_FACTS.reset(facts_token)
            REQUEST_ID.reset(id_token)


    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        # a socket has no method and no response headers: the id goes to its log lines only
        given = _header(scope, b"x-request-id")
        request_id = given if given and _VALID_ID.match(given) else new_request_id()
        id_token = REQUEST_ID.set(request_id)
        status = 403  # closed before it was accepted: the client saw its upgrade refused
        closed: int | None = None
        started = time.perf_counter()

        async def tracked_send(message: Message) -> None:
            nonlocal status, closed
            if message["type"] == "websocket.accept":
                status = 101
            elif message["type"] == "websocket.close":
                closed = message.get("code", 1000)
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        finally:
            elapsed = time.perf_counter() - started
            access_log.info("WEBSOCKET %s %d", scope["path"], status, extra={
                "request_id": request_id, "method": "WEBSOCKET", "path": scope["path"], "status": status,
                "closeCode": closed, "durationMs": round(elapsed * 1000, 2)})
            REQUEST_ID.reset(id_token)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return ""

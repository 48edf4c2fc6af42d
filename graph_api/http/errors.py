"""The one error type of the HTTP layer: a request answered before (or instead of) GraphQL execution.

    Exception
    ├── HTTPError                   status, code, headers, message (+ details)
    │     400 BAD_REQUEST               the request is malformed (JSON, parameters, persisted query hash)
    │     405 METHOD_NOT_ALLOWED        not GET/POST, or a mutation on GET (with ``Allow``)
    │     406 NOT_ACCEPTABLE            neither JSON media type is acceptable
    │     415 UNSUPPORTED_MEDIA_TYPE    a POST body that is not UTF-8 JSON
    │     200 PERSISTED_QUERY_NOT_FOUND / _NOT_SUPPORTED   Apollo's APQ answers (200, as Apollo Server)
    │     400 QUERY_NOT_IN_ALLOWLIST / PERSISTED_QUERY_NOT_IN_LIST   the allow-list refused it
    ├── graph_api.errors.MediaGraphError    code: INVALID_ARGUMENT, NOT_FOUND, CONFLICT, UNAVAILABLE
    └── lineage.errors.LineageError         code: INVALID_EVENT, CYCLE, NOT_FOUND, CONFLICT, ...

Inside GraphQL execution the coded errors below become ``extensions.code`` (graph_api.schema.errors).
Outside it (the OpenLineage endpoint) ``HTTPError.from_coded`` gives them their HTTP status: the one
table from codes to statuses.
"""
from __future__ import annotations

from typing import Any

# a coded error raised outside GraphQL execution answers with this status (anything else: 400)
_STATUS_OF_CODE = {"NOT_FOUND": 404, "CONFLICT": 409, "CYCLE": 409, "INVALID_EVENT": 400, "INVALID_ARGUMENT": 400,
                   "UNAVAILABLE": 503}


class HTTPError(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "BAD_REQUEST",
                 headers: dict[str, str] | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.headers = headers or {}
        # JSON-able context beyond the message (an OpenLineage event's failing path)
        self.details = {k: v for k, v in details.items() if v is not None}

    @classmethod
    def from_coded(cls, exc: Exception) -> HTTPError | None:
        """The answer to a domain error that carries a ``code``; None for anything else (a bug: 500)."""
        code = getattr(exc, "code", None)
        if not isinstance(code, str):
            return None
        message = getattr(exc, "message", None) or str(exc)
        return cls(message, _STATUS_OF_CODE.get(code, 400), code, path=getattr(exc, "path", None))

    def __repr__(self) -> str:
        return f"HTTPError({self.status}, {self.code!r}, {self.message!r})"


__all__ = ["HTTPError"]

"""Errors of the media graph, each with a stable ``code``.

    MediaGraphError                 code
    ├── InvalidArgument             INVALID_ARGUMENT   bad input: the whole batch is refused
    │   └── PageSizeExceeded        INVALID_ARGUMENT   ``first`` above the maximum page size
    ├── NotFound                    NOT_FOUND          a referenced id does not exist (or is not visible)
    │   └── LakeNotFound            NOT_FOUND          the lake a read-only command names does not exist
    ├── Conflict                    CONFLICT           the input contradicts itself or the lake
    └── Unavailable                 UNAVAILABLE        the lake cannot be reached

The GraphQL layer translates any error carrying a ``code`` (these, and
``lineage.errors.LineageError``) into ``extensions.code`` in one place,
``graph_api.schema.errors``. Anything else is masked as INTERNAL. A malformed HTTP request is
``graph_api.http.errors.HTTPError``.
"""
from __future__ import annotations

from typing import Any


class MediaGraphError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        # extra, JSON-able context for clients: the input index, the field, the offending id
        self.details = {k: v for k, v in details.items() if v is not None}


class InvalidArgument(MediaGraphError):
    code = "INVALID_ARGUMENT"


class PageSizeExceeded(InvalidArgument):
    pass


class NotFound(MediaGraphError):
    code = "NOT_FOUND"


class LakeNotFound(NotFound):
    pass


class Conflict(MediaGraphError):
    code = "CONFLICT"


class Unavailable(MediaGraphError):
    code = "UNAVAILABLE"

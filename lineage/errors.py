"""Errors raised by the lineage package.

Every error carries a stable ``code`` that the GraphQL layer copies into
``extensions.code`` in one place; the message names the thing that failed.

    LineageError                      code varies by subclass
    ├── CycleError                    "CYCLE"
    ├── UnknownEntityError            "NOT_FOUND"         unknown asset, run or job
    ├── SecondProducerError           "CONFLICT"          an output already has a producer
    ├── InvalidEventError             "INVALID_EVENT"     malformed or schema-invalid OpenLineage event
    └── InvalidArgumentError          "INVALID_ARGUMENT"
        ├── InvalidRunError           end before start, unknown status, duplicate run id, ...
        └── LimitExceededError        maxDepth or limit above the configured maximum
"""

from __future__ import annotations


class LineageError(Exception):
    code: str = "LINEAGE_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CycleError(LineageError):
    code = "CYCLE"


class UnknownEntityError(LineageError):
    code = "NOT_FOUND"


class SecondProducerError(LineageError):
    code = "CONFLICT"


class InvalidEventError(LineageError):
    code = "INVALID_EVENT"

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(f"{path}: {message}")
        # The JSON path lets an HTTP client point at the offending field.
        self.path = path


class InvalidArgumentError(LineageError):
    code = "INVALID_ARGUMENT"


class InvalidRunError(InvalidArgumentError):
    pass


class LimitExceededError(InvalidArgumentError):
    pass

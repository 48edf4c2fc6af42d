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

A run is validated in one place (``LineageGraph.run_problems``), which collects every
problem as a ``Problem`` (path, code, message); ``run_error`` makes the one error that
carries them all in ``problems``, of the class of the first problem's code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

CYCLE, NOT_FOUND, CONFLICT, INVALID = "CYCLE", "NOT_FOUND", "CONFLICT", "INVALID_ARGUMENT"


class Problem(NamedTuple):
    """One reason a run cannot be recorded. ``path`` names the field: ``status``,
    ``job.name``, ``ended_at``, ``inputs``, ``inputs[2]``, ``outputs[0]``, ..."""

    path: str
    code: str
    message: str


class LineageError(Exception):
    code: str = "LINEAGE_ERROR"

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems: tuple[Problem, ...] = tuple(problems)


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


_BY_CODE: dict[str, type[LineageError]] = {
    CYCLE: CycleError, NOT_FOUND: UnknownEntityError, CONFLICT: SecondProducerError, INVALID: InvalidRunError,
}


def run_error(run_id: str, problems: Sequence[Problem]) -> LineageError:
    """The error for a run with these problems: its class follows the first problem's code."""
    shown = "; ".join(p.message for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return _BY_CODE.get(problems[0].code, InvalidRunError)(f"run {run_id}: {shown}{more}", problems)

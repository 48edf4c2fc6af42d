"""Collecting every problem of one input before refusing it.

The same shape as the lake's batch problems (``graph_api.lake.validate.Problems``): each problem
is ``{"index", "field", "message", "code"}`` plus, where it helps, where else it sits (a clip's
``track`` and ``clip`` name). The lake's collector is not imported because importing anything
under ``graph_api.lake`` opens lancedb, and this package stays pure.
"""
from __future__ import annotations

from typing import Any

from graph_api.errors import Conflict, InvalidArgument, MediaGraphError, NotFound

_ERRORS: dict[str, type[MediaGraphError]] = {
    "INVALID_ARGUMENT": InvalidArgument,
    "NOT_FOUND": NotFound,
    "CONFLICT": Conflict,
}
# an error names the first few problems in its message and carries at most this many in details
SHOWN = 5
CARRIED = 100


class Problems:
    def __init__(self, what: str) -> None:
        self.what = what
        self.items: list[dict[str, Any]] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def add(self, index: int | None, field: str | None, message: str, code: str = "INVALID_ARGUMENT",
            **where: Any) -> None:
        self.items.append({"index": index, "field": field, "message": message, "code": code,
                           **{k: v for k, v in where.items() if v is not None}})

    def raise_if_any(self) -> None:
        """One error for all of them; its class (and so its code) is that of the first problem."""
        if not self.items:
            return
        shown = "; ".join(_where(p) + p["message"] for p in self.items[:SHOWN])
        more = f" (and {len(self.items) - SHOWN} more)" if len(self.items) > SHOWN else ""
        first = self.items[0]
        # "nothing was written" matters to a batch; one problem of a single input speaks for itself
        single = len(self.items) == 1 and first["index"] is None and "track" not in first
        message = f"{self.what}: {shown}" if single else f"{self.what}: nothing was written: {shown}{more}"
        raise _ERRORS.get(first["code"], InvalidArgument)(message, problems=self.items[:CARRIED])


def _where(problem: dict[str, Any]) -> str:
    if "track" in problem:  # a clip of a timeline: named by track, position and name
        name = f" {problem['clip']!r}" if problem.get("clip") else ""
        index = f" [{problem['index']}]" if problem["index"] is not None else ""
        return f"track {problem['track']!r}{index}{name}: "
    if problem["index"] is None:
        # a single input's messages name a plain field themselves (the GraphQL layer camel-cases
        # only the input[i].field form, so a snake_case prefix would leak); a path is shown
        field = problem["field"] or ""
        return f"{field}: " if "." in field or "[" in field else ""
    return f"input[{problem['index']}]" + (f".{problem['field']}" if problem["field"] else "") + ": "

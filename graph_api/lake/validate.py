"""Checking a batch before anything is written: every problem is collected, then one error
names them all (with the item index and field), so a client fixes a batch in one round trip."""
from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

from graph_api.errors import Conflict, InvalidArgument, MediaGraphError, NotFound

CHECKSUM = re.compile(r"^sha256:[0-9a-f]{64}$")
_CODES: dict[str, type[MediaGraphError]] = {
    "INVALID_ARGUMENT": InvalidArgument,
    "NOT_FOUND": NotFound,
    "CONFLICT": Conflict,
}


class Problems:
    def __init__(self, what: str, max_batch: int | None = None) -> None:
        self.what = what
        self.items: list[dict[str, Any]] = []
        self.max_batch = max_batch

    def add(self, index: int | None, field: str | None, message: str, code: str = "INVALID_ARGUMENT") -> None:
        self.items.append({"index": index, "field": field, "message": message, "code": code})

    def check_batch(self, rows: Sequence[Any]) -> None:
        if not rows:
            self.add(None, None, f"{self.what}: the batch is empty")
        elif self.max_batch is not None and len(rows) > self.max_batch:
            self.add(None, None, f"{self.what}: {len(rows)} items exceed the batch maximum of {self.max_batch}")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        first = self.items[0]

        def where(p: dict[str, Any]) -> str:
            if p["index"] is None:
                return ""
            return f"input[{p['index']}]" + (f".{p['field']}" if p["field"] else "") + ": "

        shown = "; ".join(where(p) + p["message"] for p in self.items[:5])
        more = f" (and {len(self.items) - 5} more)" if len(self.items) > 5 else ""
        message = (
            f"{self.what}: nothing was written: {shown}{more}"
            if len(self.items) > 1 or first["index"] is not None
            else first["message"]
        )
        raise _CODES.get(first["code"], InvalidArgument)(message, problems=self.items[:100])

    # --- field checks ---------------------------------------------------------------
    def required_text(self, i: int, row: dict[str, Any], field: str) -> None:
        value = row.get(field)
        if not isinstance(value, str) or not value.strip():
            self.add(i, field, "is required and must be non-empty text")

    def one_of(self, i: int, row: dict[str, Any], field: str, allowed: Sequence[str]) -> None:
        if row.get(field) not in allowed:
            self.add(i, field, f"{row.get(field)!r} is not one of {', '.join(allowed)}")

    def number(self, i: int, row: dict[str, Any], field: str, *, minimum: float | None = None,
               positive: bool = False, maximum: float | None = None, integer: bool = False) -> None:
        value = row.get(field)
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            self.add(i, field, f"{value!r} is not a finite number")
            return
        if integer and not float(value).is_integer():
            self.add(i, field, f"{value!r} is not an integer")
        if positive and value <= 0:
            self.add(i, field, f"must be positive, got {value}")
        if minimum is not None and value < minimum:
            self.add(i, field, f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            self.add(i, field, f"must be at most {maximum}, got {value}")

    def checksum(self, i: int, row: dict[str, Any], field: str = "checksum") -> None:
        value = row.get(field)
        if value is not None and (not isinstance(value, str) or not CHECKSUM.match(value)):
            self.add(i, field, f"{value!r} is not 'sha256:' followed by 64 lower-case hex digits")

    def time_range(self, i: int, row: dict[str, Any], *, required: bool) -> None:
        start, end = row.get("start"), row.get("end")
        if required and (start is None or end is None):
            self.add(i, "start" if start is None else "end", "is required")
            return
        self.number(i, row, "start", minimum=0)
        self.number(i, row, "end", minimum=0)
        if isinstance(start, (int, float)) and isinstance(end, (int, float)) and end < start:
            self.add(i, "end", f"end {end} is before start {start}")

    def unique(self, rows: Sequence[dict[str, Any]], field: str) -> None:
        seen: dict[Any, int] = {}
        for i, row in enumerate(rows):
            value = row.get(field)
            if value is None:
                continue
            if value in seen:
                self.add(i, field, f"{value!r} repeats input[{seen[value]}] in the same batch", "CONFLICT")
            else:
                seen[value] = i


def to_json_text(problems: Problems, i: int, field: str, value: Any, *, object_only: bool = False) -> str | None:
    """JSON-valued inputs are stored as text; a JSON text given as a string is parsed first."""
    if value is None:
        return None
    if isinstance(value, str) and object_only:
        try:
            value = json.loads(value)
        except ValueError:
            problems.add(i, field, "is not valid JSON")
            return None
    if object_only and not isinstance(value, dict):
        problems.add(i, field, "must be a JSON object")
        return None
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        problems.add(i, field, "is not JSON-serialisable")
        return None

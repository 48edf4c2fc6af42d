"""Checking a batch before anything is written: every problem is collected, then one error
names them all (with the item index and field), so a client fixes a batch in one round trip.

Every batch's strings are held to ``STRING_RULES`` (a maximum length, and which characters a field
may hold: no control characters in ids, uris, roles and other identifiers; no NUL, nor control
characters but tab and line breaks, in names, labels and text), and JSON values to a maximum
size and nesting, so that the Python API refuses what GraphQL clients are refused."""
from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from graph_api.errors import Conflict, InvalidArgument, MediaGraphError, NotFound

CHECKSUM = re.compile(r"^sha256:[0-9a-f]{64}$")
# identifiers: no control characters at all (C0, DEL, C1)
_TOKEN_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# human text: tab and line breaks are text; NUL and the other C0 controls are not
_TEXT_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ID_LENGTH = 128
# field -> (maximum length in characters, identifier?) for every string a batch may store
STRING_RULES: dict[str, tuple[int, bool]] = {
    **{f: (ID_LENGTH, True) for f in ("id", "title_id", "asset_id", "segment_id", "run_id", "parent_id",
                                      "subject_id", "reply_to")},
    # lists of ids: each item held to the rule
    "asset_ids": (ID_LENGTH, True),
    "external_id": (256, True),
    "role": (128, True),
    "uri": (4096, True),
    "checksum": (128, True),
    "media_type": (64, True),
    "kind": (64, True),
    "space": (200, True),
    "model": (200, True),
    "name": (1000, False),
    "label": (1000, False),
    "category": (256, False),
    "text": (100_000, False),
    # workflow text (reviews, notes); the workflow rules hold these to tighter lengths of their own
    "comment": (100_000, False),
}
MAX_JSON_BYTES = 256 * 1024
# a NUL as json.dumps writes it: \u0000 not preceded by an escaped backslash
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
MAX_JSON_DEPTH = 32
# a problem's message quotes what it was given; never more than this of it
_MESSAGE_CHARS = 300
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
        for i, row in enumerate(rows):
            if isinstance(row, dict):
                self.strings(i, row)

    def strings(self, i: int | None, row: dict[str, Any]) -> None:
        """Every string of ``row`` that ``STRING_RULES`` knows, held to its rule."""
        for field, value in row.items():
            rule = STRING_RULES.get(field)
            if rule is None:
                continue
            if isinstance(value, str):
                self.string(i, field, value, *rule)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, str):
                        self.string(i, field, item, *rule)

    def string(self, i: int | None, field: str, value: str, max_length: int, identifier: bool) -> None:
        if len(value) > max_length:
            self.add(i, field, f"is {len(value)} characters long; at most {max_length} are allowed")
            return
        found = (_TOKEN_FORBIDDEN if identifier else _TEXT_FORBIDDEN).search(value)
        if found:
            self.add(i, field, f"holds the control character U+{ord(found.group()):04X} at position "
                     f"{found.start()}; {'identifiers' if identifier else 'text'} may not")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        first = self.items[0]

        def where(p: dict[str, Any]) -> str:
            if p["index"] is None:
                return ""
            return f"input[{p['index']}]" + (f".{p['field']}" if p["field"] else "") + ": "

        shown = "; ".join(where(p) + p["message"] for p in self.items[:5])
        for p in self.items:
            p["message"] = _clip(p["message"])  # a message quoting a 10 MB value must not echo it
        shown = _clip(shown, 5 * _MESSAGE_CHARS)
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
            self.add(i, field, f"{_clip(repr(row.get(field)), 80)} is not one of {', '.join(allowed)}")

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


def check_strings(what: str, rows: Sequence[Mapping[str, Any]], *, batch: bool = True) -> None:
    """Hold the strings of ``rows`` (a batch, or one input when ``batch`` is False) to ``STRING_RULES``: the
    workflow mutations' rows meet the same rule as the lake's batches. One INVALID_ARGUMENT names every field."""
    problems = Problems(what)
    for i, row in enumerate(rows):
        problems.strings(i if batch else None, dict(row))
    if not batch:
        for p in problems.items:
            p["message"] = f"{p['field']} {p['message']}"  # no input index to name it by
    problems.raise_if_any()


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
    depth = json_depth(value, MAX_JSON_DEPTH)
    if depth > MAX_JSON_DEPTH:
        problems.add(i, field, f"nests deeper than {MAX_JSON_DEPTH} levels")
        return None
    try:
        text = json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        problems.add(i, field, "is not JSON-serialisable")
        return None
    if len(text) > MAX_JSON_BYTES:
        problems.add(i, field, f"is {len(text)} bytes of JSON; at most {MAX_JSON_BYTES} are allowed")
        return None
    if _JSON_NUL.search(text):
        problems.add(i, field, "holds a NUL character")
        return None
    return text


def json_depth(value: Any, stop_after: int | None = None) -> int:
    """How deeply ``value``'s arrays and objects nest (a scalar: 0), walked level by level without
    recursion; the walk stops once ``stop_after`` is passed, so a hostile value costs no more than the
    limit to measure. (Level by level, a scalar costs one type check: a 1k-asset request body is
    measured in ~3 ms, against ~7 ms for a stack of (value, depth) pairs.)"""
    depth = 0
    level: list[Any] = [value]
    while True:
        children: list[Any] = []
        nested = False
        for item in level:
            if isinstance(item, dict):
                nested = True
                children.extend(item.values())
            elif isinstance(item, (list, tuple)):
                nested = True
                children.extend(item)
        if not nested:
            return depth
        depth += 1
        if stop_after is not None and depth > stop_after:
            return depth
        level = children


def _clip(text: str, limit: int = _MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"

"""Safe SQL filter text for LanceDB ``where`` clauses. Only the lake builds filters."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def column(name: str) -> str:
    # backquotes keep reserved words such as `end` usable as column names
    return f"`{name}`"


def eq(name: str, value: Any) -> str:
    return f"{column(name)} IS NULL" if value is None else f"{column(name)} = {literal(value)}"


def is_in(name: str, values: Iterable[Any]) -> str:
    values = list(dict.fromkeys(values))
    if not values:
        return "FALSE"
    if len(values) == 1:
        return eq(name, values[0])
    return f"{column(name)} IN ({', '.join(literal(v) for v in values)})"


def not_in(name: str, values: Iterable[Any]) -> str | None:
    """Rows whose ``name`` is none of ``values`` (None when there are none: nothing to exclude)."""
    values = list(dict.fromkeys(values))
    if not values:
        return None
    return f"{column(name)} NOT IN ({', '.join(literal(v) for v in values)})"


def all_of(*clauses: str | None) -> str | None:
    parts = [c for c in clauses if c]
    if not parts:
        return None
    return " AND ".join(f"({c})" for c in parts)

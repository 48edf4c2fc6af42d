"""Scalars of the contract: Long (a 64-bit integer sent as a JSON number); JSON and DateTime come from strawberry."""
from __future__ import annotations

from typing import Any, NewType

import strawberry
from graphql import IntValueNode
from strawberry.scalars import JSON

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1


def _parse_long(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"Long cannot represent {value!r}: not an integer")
    value = int(value)
    if not LONG_MIN <= value <= LONG_MAX:
        raise ValueError(f"Long cannot represent {value}: outside the 64-bit range")
    return value


def _parse_long_literal(node: Any, _variables: Any = None) -> int:
    if not isinstance(node, IntValueNode):
        raise ValueError("Long must be an integer literal")
    return _parse_long(int(node.value))


Long = NewType("Long", int)

LONG_DEFINITION = strawberry.scalar(
    name="Long",
    description="64-bit integer, sent and received as a JSON number",
    serialize=int,
    parse_value=_parse_long,
    parse_literal=_parse_long_literal,
)

__all__ = ["JSON", "LONG_DEFINITION", "Long"]

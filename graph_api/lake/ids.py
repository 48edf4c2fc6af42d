"""Opaque ids the lake generates: a type prefix, then a time-ordered random part.

The time-ordered part makes "sort by id" mean "sort by creation", which gives
stable keyset pagination for free.
"""
from __future__ import annotations

import os
import time

from lineage.model import ID_PREFIXES

# "title", "asset", "seg", "ann", "run": what an id starts with, before its "_"
PREFIXES = tuple(prefix.rstrip("_") for prefix in ID_PREFIXES.values())


def new_id(prefix: str) -> str:
    assert prefix in PREFIXES, prefix
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{millis:012x}{os.urandom(8).hex()}"


def new_ids(prefix: str, count: int) -> list[str]:
    return [new_id(prefix) for _ in range(count)]


def prefix_of(id_: str) -> str | None:
    head, sep, _ = id_.partition("_")
    return head if sep and head in PREFIXES else None

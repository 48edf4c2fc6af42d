"""Opaque ids the lake generates: a type prefix, then a time-ordered random part.

The time-ordered part makes "sort by id" mean "sort by creation", which gives
stable keyset pagination for free. Within one millisecond a process-wide sequence keeps the
order (rows of one batch sort as they were given); across processes the random part decides.
"""
from __future__ import annotations

import itertools
import os
import threading
import time

from lineage.model import ID_PREFIXES

# "title", "asset", "seg", "ann", "run": what an id starts with, before its "_"
PREFIXES = tuple(prefix.rstrip("_") for prefix in ID_PREFIXES.values())


_sequence = itertools.count()
_last = [0, 0]  # the millisecond of the last id, and the sequence number it started at
_lock = threading.Lock()


def new_id(prefix: str) -> str:
    assert prefix in PREFIXES, prefix
    with _lock:
        millis = max(time.time_ns() // 1_000_000, _last[0])  # never backwards, even if the clock is
        n = next(_sequence)
        if millis != _last[0]:
            _last[:] = [millis, n]
        within = (n - _last[1]) & 0xFFFF
    return f"{prefix}_{millis:012x}{within:04x}{os.urandom(6).hex()}"


def new_ids(prefix: str, count: int) -> list[str]:
    return [new_id(prefix) for _ in range(count)]


def prefix_of(id_: str) -> str | None:
    head, sep, _ = id_.partition("_")
    return head if sep and head in PREFIXES else None

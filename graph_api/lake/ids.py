"""Opaque ids the lake generates: a type prefix, then a time-ordered random part.

The time-ordered part makes "sort by id" mean "sort by creation", which gives
stable keyset pagination for free. Within one millisecond a process-wide sequence keeps the
order (rows of one batch sort as they were given); across processes the random part decides.
"""
from __future__ import annotations

import os
import threading
import time

from lineage.model import ID_PREFIXES

# "title", "asset", "seg", "ann", "run": what an id starts with, before its "_"
PREFIXES = tuple(prefix.rstrip("_") for prefix in ID_PREFIXES.values())


_next = [0]  # the process-wide sequence number of the next id
_last = [0, 0]  # the millisecond of the last id, and the sequence number it started at
_lock = threading.Lock()
_WITHIN = 0x10000  # ids one millisecond can order


def new_id(prefix: str) -> str:
    return new_ids(prefix, 1)[0]


def new_ids(prefix: str, count: int) -> list[str]:
    """``count`` ids, in order, under one lock and one read of randomness (a bulk write's ids)."""
    assert prefix in PREFIXES, prefix
    noise = os.urandom(6).hex() if count == 1 else os.urandom(6 * count).hex()
    ids: list[str] = []
    with _lock:
        millis = max(time.time_ns() // 1_000_000, _last[0])  # never backwards, even if the clock is
        if millis != _last[0]:
            _last[:] = [millis, _next[0]]
        while len(ids) < count:
            within = _next[0] - _last[1]
            if within >= _WITHIN:
                # a millisecond's ids are used up: the next ones take the next millisecond
                millis += 1
                _last[:] = [millis, _next[0]]
                continue
            take = min(_WITHIN - within, count - len(ids))
            head = f"{prefix}_{millis:012x}"
            done = len(ids)
            ids.extend(f"{head}{w:04x}{noise[12 * k : 12 * k + 12]}"
                       for k, w in enumerate(range(within, within + take), start=done))
            _next[0] += take
    return ids


def prefix_of(id_: str) -> str | None:
    head, sep, _ = id_.partition("_")
    return head if sep and head in PREFIXES else None

"""Opaque ids the lake generates: a type prefix, then a time-ordered random part.

The time-ordered part makes "sort by id" mean "sort by creation", which gives
stable keyset pagination for free. Within one millisecond a process-wide sequence keeps the
order (rows of one batch sort as they were given); across processes the random part decides.

An id is ``{prefix}_{millisecond:012x}{sequence within it:04x}{6 random bytes as hex}``: every id of
a prefix has the same length, so a bulk write's ids are built as one Arrow string array from a numpy
byte matrix (``new_id_array``) instead of one Python string each.
"""
from __future__ import annotations

import os
import threading
import time
from functools import lru_cache

import numpy as np
import pyarrow as pa

from lineage.model import ID_PREFIXES

# "title", "asset", "seg", "ann", "run": what an id starts with, before its "_"
PREFIXES = tuple(prefix.rstrip("_") for prefix in ID_PREFIXES.values())


_next = [0]  # the process-wide sequence number of the next id
_last = [0, 0]  # the millisecond of the last id, and the sequence number it started at
_lock = threading.Lock()
_WITHIN = 0x10000  # ids one millisecond can order
# below this many ids, Python string formatting is cheaper than setting up the arrays
_ARRAY_FROM = 64
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def new_id(prefix: str) -> str:
    return new_ids(prefix, 1)[0]


def _reserve(count: int) -> list[tuple[int, int, int]]:
    """``count`` ids' places in the order, as (millisecond, first sequence within it, how many) runs."""
    runs: list[tuple[int, int, int]] = []
    taken = 0
    with _lock:
        millis = max(time.time_ns() // 1_000_000, _last[0])  # never backwards, even if the clock is
        if millis != _last[0]:
            _last[:] = [millis, _next[0]]
        while taken < count:
            within = _next[0] - _last[1]
            if within >= _WITHIN:
                # a millisecond's ids are used up: the next ones take the next millisecond
                millis += 1
                _last[:] = [millis, _next[0]]
                continue
            take = min(_WITHIN - within, count - taken)
            runs.append((millis, within, take))
            taken += take
            _next[0] += take
    return runs


def new_ids(prefix: str, count: int) -> list[str]:
    """``count`` ids, in order, under one lock and one read of randomness (a bulk write's ids)."""
    assert prefix in PREFIXES, prefix
    if count >= _ARRAY_FROM:
        return new_id_array(prefix, count).to_pylist()
    noise = os.urandom(6 * count).hex()
    ids: list[str] = []
    for millis, within, take in _reserve(count):
        head = f"{prefix}_{millis:012x}"
        done = len(ids)
        ids.extend(f"{head}{w:04x}{noise[12 * k : 12 * k + 12]}"
                   for k, w in enumerate(range(within, within + take), start=done))
    return ids


def new_id_array(prefix: str, count: int) -> pa.StringArray:
    """``new_ids`` as one Arrow string array, built column by column (same format, same order)."""
    assert prefix in PREFIXES, prefix
    if count == 0:
        return pa.array([], pa.string())
    parts = []
    for millis, within, take in _reserve(count):
        # one run shares its head; the sequence's 4 hex digits come from a table of all 65,536
        head = np.frombuffer(f"{prefix}_{millis:012x}".encode(), dtype=np.uint8)
        parts.append(np.concatenate([np.broadcast_to(head, (take, len(head))), _sequences()[within : within + take]],
                                    axis=1))
    noise = np.frombuffer(os.urandom(6 * count), dtype=np.uint8)
    matrix = np.concatenate([np.concatenate(parts), _BYTE_HEX[noise].reshape(count, 12)], axis=1)
    width = matrix.shape[1]
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(matrix.tobytes())])


# every byte as its two hex digits
_BYTE_HEX = np.stack([_HEX[np.arange(256) >> 4], _HEX[np.arange(256) & 0xF]], axis=1)


@lru_cache(maxsize=1)
def _sequences() -> np.ndarray:
    """Every sequence number within a millisecond as 4 hex digits: shape (65536, 4)."""
    values = np.arange(_WITHIN)
    return np.stack([_HEX[(values >> shift) & 0xF] for shift in (12, 8, 4, 0)], axis=1)


def prefix_of(id_: str) -> str | None:
    head, sep, _ = id_.partition("_")
    return head if sep and head in PREFIXES else None

"""Counting what the lake does: totals per table since the lake was opened (for /metrics and
benchmarks), and the reads of one request (for ``extensions.lakeReads``).

    with count_reads() as reads:
        lake.assets.list()
    reads.total                                    # -> 1

Every read path of the lake (``LakeView.scan`` / ``ranked``, the run-visibility rule) reports
to ``Connection.count_read``, which feeds both.
"""
from __future__ import annotations

import threading
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self


@dataclass
class Counters:
    """Totals since the lake was opened."""

    reads: int = 0
    rows_written: int = 0
    compactions: int = 0
    # commits that conflicted with another writer's and were retried after a backoff (Connection._commit)
    conflict_retries: int = 0
    by_table: dict[str, int] = field(default_factory=dict)  # reads per table
    writes_by_table: dict[str, int] = field(default_factory=dict)  # write commits per table

    def read(self, table: str) -> None:
        self.reads += 1
        self.by_table[table] = self.by_table.get(table, 0) + 1

    def wrote(self, table: str, rows: int) -> None:
        self.rows_written += rows
        self.writes_by_table[table] = self.writes_by_table.get(table, 0) + 1


class ReadCount:
    """The lake reads made in one context (a request, a ``with`` block) since it was created.

    It counts from creation in the current ``contextvars`` context, and in every copy of it
    (``asyncio.to_thread`` and tasks copy the context), so a request's DataLoader batches
    running in worker threads are counted too. Used as a context manager, it stops counting
    on exit; a request's count simply ends with the request's context.
    """

    def __init__(self) -> None:
        self.total = 0
        self._lock = threading.Lock()  # batches of one request count from several threads
        self._token: Token[ReadCount | None] | None = _CURRENT.set(self)

    def add(self) -> None:
        with self._lock:
            self.total += 1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._token is not None:
            _CURRENT.reset(self._token)
            self._token = None


_CURRENT: ContextVar[ReadCount | None] = ContextVar("lake_read_count", default=None)


def count_reads() -> ReadCount:
    """Start counting the lake reads of the current context (see ``ReadCount``)."""
    return ReadCount()


def note_read() -> None:
    """Count one read for the current context, if something is counting it."""
    current = _CURRENT.get()
    if current is not None:
        current.add()

"""Which runs are visible: rows a run produced (``produced_by``) are hidden until the run is.

A run's writer commits its ``runs`` row last (see ``graph_api.lake.lineage``), so a crash
between commits leaves rows whose run never became visible; every view hides them. A view
is built with one rule: the lineage graph's (``LakeLineage``: the runs the graph holds), or,
for a lake opened without lineage, ``RunsTable``.
"""
from __future__ import annotations

from typing import Protocol

from graph_api.lake.connection import Connection

RUNS_TABLE = "runs"  # written by lineage.store; the lake only reads its ids


class RunVisibility(Protocol):
    def run_exists(self, run_id: str) -> bool:
        """True when rows produced by ``run_id`` may be seen."""
        ...


class RunsTable:
    """A run is visible once its row in the ``runs`` table is committed.

    The ids are read in one read and kept until the table's version moves, so a lake read
    costs at most one more read (and usually none) however many runs its rows name."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def run_exists(self, run_id: str) -> bool:
        return run_id in self._ids()

    def _ids(self) -> frozenset[str]:
        table = self._connection.existing_table(RUNS_TABLE)
        if table is None:  # lineage never wrote here: no run exists
            return frozenset()
        ids: frozenset[str] = self._connection.cached(RUNS_TABLE, "ids", self._read_ids)
        return ids

    def _read_ids(self) -> frozenset[str]:
        table = self._connection.table(RUNS_TABLE)
        self._connection.count_read(RUNS_TABLE)
        ids = table.search().select(["id"]).limit(None).to_arrow().column("id")
        return frozenset(ids.to_pylist())

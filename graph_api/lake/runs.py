"""Which runs are visible: rows a run produced (``produced_by``) are hidden until the run is.

A run's writer commits its ``runs`` row last (see ``graph_api.lake.lineage``), so a crash
between commits leaves rows whose run never became visible; every view hides them. A view
is built with one rule: the lineage graph's (``EachRun(LakeLineage.run_exists)``: the runs the
graph holds), or, for a lake opened without lineage, ``RunsTable``.
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Protocol

from graph_api.lake.connection import Connection

RUNS_TABLE = "runs"  # written by lineage.store; the lake only reads its ids


class RunVisibility(Protocol):
    def visible_runs(self, run_ids: Collection[str]) -> set[str]:
        """Those of ``run_ids`` whose rows may be seen (asked once per read, for all its runs)."""
        ...


class EachRun:
    """The rule of a per-run answer that costs nothing to ask (the lineage graph, in memory)."""

    def __init__(self, run_exists: Callable[[str], bool]) -> None:
        self._run_exists = run_exists

    def visible_runs(self, run_ids: Collection[str]) -> set[str]:
        return {run_id for run_id in run_ids if self._run_exists(run_id)}


class RunsTable:
    """A run is visible once its row in the ``runs`` table is committed.

    The ids are read in one read and kept until the table's version moves, so a lake read
    costs at most one more read (and usually none) however many runs its rows name."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def visible_runs(self, run_ids: Collection[str]) -> set[str]:
        known = self._ids()  # one version check per read, whatever the number of runs
        return {run_id for run_id in run_ids if run_id in known}

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

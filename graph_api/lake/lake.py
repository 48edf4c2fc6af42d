"""``Lake``: the lake you open, a view with unlimited access over a new connection.

    lake = Lake("./lake")                          # or Lake.from_settings(settings)
    lake.assets.list(media_type="VIDEO")           # reads through the view
    lake.with_access(Access(title_ids=...))        # a narrower view of the same connection
    lake.stats(); lake.optimize()                  # maintenance, on the connection

Without lineage loaded, rows of runs are visible once their ``runs`` row is committed
(``RunsTable``); ``LakeLineage`` gives its lake the lineage graph's rule (``with_runs``).
The rule is fixed when a view is built: a view never exists without one.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from graph_api.lake.access import EVERYTHING
from graph_api.lake.connection import Connection
from graph_api.lake.counters import Counters
from graph_api.lake.runs import RunsTable, RunVisibility
from graph_api.lake.view import LakeView


class Lake(LakeView):
    def __init__(self, uri: str | Connection, *, runs: RunVisibility | None = None, create: bool = True,
                 **options: Any) -> None:
        """Open the lake at ``uri`` (``options`` configure the ``Connection``), or view an open
        ``Connection``. ``create=False`` raises ``LakeNotFound`` when there is no lake there."""
        if isinstance(uri, Connection):
            if options or not create:
                raise TypeError("options configure a new connection: give a uri to use them")
            connection = uri
        else:
            connection = Connection(uri, create=create, **options)
        super().__init__(connection, EVERYTHING, runs if runs is not None else RunsTable(connection))

    @classmethod
    def from_settings(cls, settings: Any, *, create: bool = True, **overrides: Any) -> Lake:
        """The lake the settings name, configured by them (the one way commands and the server open it);
        ``create=False`` for read-only work: a lake that does not exist raises ``LakeNotFound``."""
        options: dict[str, Any] = {
            "storage_options": dict(settings.storage_options),
            "read_consistency_seconds": settings.read_consistency_seconds,
            "compact_small_fragments": settings.compact_small_fragments,
            "version_retention_minutes": settings.version_retention_minutes,
            "max_batch": settings.max_batch,
        }
        options.update(overrides)
        return cls(settings.lake, create=create, **options)

    def with_runs(self, runs: RunVisibility) -> Lake:
        return Lake(self.connection, runs=runs)

    # --- the connection's maintenance and write API, for the lake's owner --------------------
    @property
    def uri(self) -> str:
        return self.connection.uri

    @property
    def created(self) -> bool:
        """True when opening this lake created it."""
        return self.connection.created

    @property
    def db(self) -> Any:
        return self.connection.db

    @property
    def counters(self) -> Counters:
        return self.connection.counters

    @property
    def write_lock(self) -> threading.RLock:
        return self.connection.write_lock

    @property
    def max_batch(self) -> int:
        return self.connection.max_batch

    @property
    def ann_index_min_rows(self) -> int:
        return self.connection.ann_index_min_rows

    @ann_index_min_rows.setter
    def ann_index_min_rows(self, rows: int) -> None:
        self.connection.ann_index_min_rows = rows

    def table(self, name: str) -> Any:
        return self.connection.table(name)

    def table_names(self) -> list[str]:
        return self.connection.table_names()

    def table_version(self, name: str) -> int:
        return self.connection.table_version(name)

    def add(self, table: str, rows: Any) -> None:
        self.connection.add(table, rows)

    def merge(self, table: str, rows: Any, on: str | list[str]) -> None:
        self.connection.merge(table, rows, on)

    def delete(self, table: str, where: str) -> None:
        self.connection.delete(table, where)

    def stats(self) -> dict[str, dict[str, Any]]:
        return self.connection.stats()

    def optimize(self, progress: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
        return self.connection.optimize(progress)

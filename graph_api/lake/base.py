"""What every table's repository shares: by-id reads, rows as dicts, Arrow conversion; and
``View``, what a repository needs from the view it is bound to.

A repository reads only through its view (``View.scan``), so it reads under the view's access
and run rule; it writes through the view's connection.
"""
from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import pyarrow as pa

from graph_api.lake import sql
from graph_api.lake.connection import Connection
from graph_api.lake.runs import RunVisibility

# an IN list longer than this is split; very long filter texts parse slowly
IN_CHUNK = 2_000


def now() -> datetime:
    return datetime.now(UTC)


class ByIds(Protocol):
    def get_many(self, ids: Sequence[str], extra: str | None = None) -> dict[str, dict[str, Any]]: ...


class View(Protocol):
    """What a repository needs from its view (``graph_api.lake.view.LakeView``): the reads that
    apply the view's rules, the rule for runs, the sibling repositories a write checks ids
    against, and the connection it writes through."""

    @property
    def connection(self) -> Connection: ...

    @property
    def runs(self) -> RunVisibility: ...

    @property
    def access(self) -> Hashable: ...  # what the view may see (``Access``): writes of equal ones are grouped

    @property
    def titles(self) -> ByIds: ...

    @property
    def assets(self) -> ByIds: ...

    @property
    def segments(self) -> ByIds: ...

    def scan(self, table: str, where: str | None = None, *, columns: list[str] | None = None,
             limit: int | None = None, title_column: str | None = "title_id", keyed: bool = False) -> pa.Table: ...


class Repo:
    table_name: str
    schema: pa.Schema
    title_column: str | None = "title_id"
    key = "id"

    def __init__(self, view: View) -> None:
        self.view = view

    @property
    def connection(self) -> Connection:
        return self.view.connection

    def scan(self, where: str | None = None, *, columns: list[str] | None = None, limit: int | None = None,
             keyed: bool = False) -> pa.Table:
        return self.view.scan(self.table_name, where, columns=columns, limit=limit, title_column=self.title_column,
                              keyed=keyed)

    def rows(self, where: str | None = None, *, limit: int | None = None, keyed: bool = False) -> list[dict[str, Any]]:
        return self.scan(where, limit=limit, keyed=keyed).to_pylist()

    def get_many(self, ids: Sequence[str], extra: str | None = None) -> dict[str, dict[str, Any]]:
        """Rows by id in as few reads as the id list allows; missing or invisible ids are absent."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(i for i in ids if isinstance(i, str)))
        for start in range(0, len(unique), IN_CHUNK):
            chunk = unique[start : start + IN_CHUNK]
            for row in self.rows(sql.all_of(sql.is_in(self.key, chunk), extra), keyed=True):
                found[row[self.key]] = row
        return found

    def get(self, id_: str) -> dict[str, Any] | None:
        return self.get_many([id_]).get(id_)

    def group_by(self, column: str, values: Sequence[str], extra: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Rows whose ``column`` is one of ``values``, grouped by it, in id order (= creation order)."""
        grouped: dict[str, list[dict[str, Any]]] = {v: [] for v in values}
        unique = list(dict.fromkeys(values))
        for start in range(0, len(unique), IN_CHUNK):
            chunk = unique[start : start + IN_CHUNK]
            for row in self.rows(sql.all_of(sql.is_in(column, chunk), extra), keyed=True):
                grouped.setdefault(row[column], []).append(row)
        for rows in grouped.values():
            rows.sort(key=lambda r: r["id"])
        return grouped

    def by_external_id(self, external_ids: Sequence[str], extra: str | None = None) -> dict[str, dict[str, Any]]:
        """Rows by external id (the caller's own key), ignoring access: used to make writes idempotent."""
        unique = [e for e in dict.fromkeys(external_ids) if e]
        if not unique:
            return {}
        rows = self.view.scan(self.table_name, sql.all_of(sql.is_in("external_id", unique), extra),
                              title_column=None, keyed=True).to_pylist()
        return {r["external_id"]: r for r in rows}

    def delete(self, ids: Sequence[str]) -> None:
        """Delete rows by id, in one commit."""
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), IN_CHUNK):
            self.connection.delete(self.table_name, sql.is_in(self.key, unique[start : start + IN_CHUNK]))

    def to_table(self, rows: Iterable[dict[str, Any]]) -> pa.Table:
        return pa.Table.from_pylist(list(rows), schema=self.schema)

    def count(self, where: str | None = None) -> int:
        return self.scan(where, columns=[self.key]).num_rows

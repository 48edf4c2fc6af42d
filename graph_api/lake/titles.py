"""Titles: movies, series, seasons, episodes, trailers; a parent links an episode to its series."""
from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from graph_api.lake import sql
from graph_api.lake.base import Repo, now
from graph_api.lake.ids import new_id
from graph_api.lake.schemas import TITLE_KINDS, TITLES
from graph_api.lake.validate import Problems


class Titles(Repo):
    table_name = "titles"
    schema = TITLES
    title_column = "id"

    def list(self, *, search: str | None = None, kind: str | None = None, parent_id: str | None = None,
             ids: Sequence[str] | None = None) -> pa.Table:
        """Titles as Arrow, sorted by name; ``search`` matches any part of the name, ignoring case."""
        clauses = []
        if search:
            clauses.append(f"strpos(name_lower, {sql.literal(search.lower())}) > 0")
        if kind:
            clauses.append(sql.eq("kind", kind))
        if parent_id:
            clauses.append(sql.eq("parent_id", parent_id))
        if ids is not None:
            clauses.append(sql.is_in("id", ids))
        rows = self.scan(sql.all_of(*clauses))
        return rows.sort_by([("name_lower", "ascending"), ("id", "ascending")])

    def create(self, inputs: Sequence[dict[str, Any]]) -> builtins.list[dict[str, Any]]:
        """Create titles in one batch. A title whose externalId exists is updated in place."""
        problems = Problems("createTitle", self.connection.max_batch)
        problems.check_batch(inputs)
        problems.unique(inputs, "external_id")
        for i, row in enumerate(inputs):
            problems.required_text(i, row, "name")
            problems.one_of(i, row, "kind", TITLE_KINDS)
            problems.number(i, row, "release_year", minimum=1870, maximum=2100, integer=True)
        parents = self.get_many([r["parent_id"] for r in inputs if r.get("parent_id")])
        for i, row in enumerate(inputs):
            if row.get("parent_id") and row["parent_id"] not in parents:
                problems.add(i, "parent_id", f"unknown title {row['parent_id']!r}", "NOT_FOUND")
        problems.raise_if_any()

        with self.connection.write_lock:
            existing = {
                r["external_id"]: r
                for r in self.view.scan(
                    "titles", sql.is_in("external_id", [r["external_id"] for r in inputs if r.get("external_id")]),
                    title_column=None,
                ).to_pylist()
            } if any(r.get("external_id") for r in inputs) else {}
            stamp = now()
            rows = []
            for row in inputs:
                old = existing.get(row.get("external_id"))
                rows.append({
                    "id": old["id"] if old else new_id("title"),
                    "external_id": row.get("external_id"),
                    "name": row["name"].strip(),
                    "name_lower": row["name"].strip().lower(),
                    "kind": row["kind"],
                    "release_year": row.get("release_year"),
                    "parent_id": row.get("parent_id"),
                    "restricted": bool(row.get("restricted") or False),
                    "created_at": old["created_at"] if old else stamp,
                    "updated_at": stamp,
                })
            if existing:
                self.connection.merge("titles", self.to_table(rows), on="id")
            else:
                self.connection.add("titles", self.to_table(rows))
        return rows

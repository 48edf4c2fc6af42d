"""Titles: movies, series, seasons, episodes, trailers; a parent links an episode to its series.

Also the hierarchy the access rule reads (``title_tree``): restriction is inherited down it."""
from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from graph_api.lake import sql
from graph_api.lake.base import Repo, now
from graph_api.lake.connection import Connection
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


@dataclass(frozen=True)
class TitleTree:
    """The titles' hierarchy as the access rule needs it: who is under whom, and what is restricted.

    ``restricted`` holds every restricted title and every title under one (an episode of a
    restricted series is restricted, whatever its own row says)."""

    children: dict[str, tuple[str, ...]]
    restricted: frozenset[str]

    def with_descendants(self, title_ids: Iterable[str]) -> frozenset[str]:
        """``title_ids`` and every title under them (a grant of a series covers its episodes)."""
        seen: set[str] = set()
        frontier = [t for t in title_ids if t not in seen]
        while frontier:
            title_id = frontier.pop()
            if title_id in seen:
                continue
            seen.add(title_id)
            frontier.extend(self.children.get(title_id, ()))
        return frozenset(seen)


def title_tree(connection: Connection) -> TitleTree:
    """The hierarchy of every title, read past any access rule and cached per titles-table version
    (it does not depend on who reads: each view derives its hidden set from it)."""
    tree: TitleTree = connection.cached("titles", "tree", lambda: _read_tree(connection))
    return tree


def _read_tree(connection: Connection) -> TitleTree:
    connection.count_read("titles")
    rows = connection.table("titles").search().select(["id", "parent_id", "restricted"]).limit(None).to_arrow()
    children: dict[str, list[str]] = {}
    marked: list[str] = []
    for title_id, parent_id, restricted in zip(rows.column("id").to_pylist(), rows.column("parent_id").to_pylist(),
                                               rows.column("restricted").to_pylist(), strict=True):
        if parent_id:
            children.setdefault(parent_id, []).append(title_id)
        if restricted:
            marked.append(title_id)
    tree = TitleTree({k: tuple(v) for k, v in children.items()}, frozenset())
    return TitleTree(tree.children, tree.with_descendants(marked))

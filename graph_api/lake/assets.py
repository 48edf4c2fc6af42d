"""The Media Table: every title's assets, one row per (id, version).

Registering an asset whose ``external_id`` is known updates it; if its checksum changed (or a
new run derived it again) it becomes version N+1 and the old row stays readable with
``is_current`` false. Both rows are
written by one ``merge_insert`` keyed on (id, version), so a re-delivery is one atomic commit.
"""
from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from graph_api.lake import sql
from graph_api.lake.base import Repo, now
from graph_api.lake.ids import new_id
from graph_api.lake.schemas import ASSETS
from graph_api.lake.validate import Problems, to_json_text
from graph_api.media.kinds import MEDIA_TYPES

CURRENT = "is_current = TRUE"
FIELDS = ("external_id", "title_id", "media_type", "role", "uri", "checksum", "size_bytes",
          "duration_seconds", "width", "height", "frame_rate")


@dataclass
class PreparedAssets:
    """Validated rows, ready to write; ``results`` are the current rows, in input order."""

    rows: list[dict[str, Any]]
    results: list[dict[str, Any]]
    new_versions: list[dict[str, Any]]


class Assets(Repo):
    table_name = "assets"
    schema = ASSETS

    # --- reads ----------------------------------------------------------------------
    def get_many(self, ids: Sequence[str], extra: str | None = None) -> dict[str, dict[str, Any]]:
        return super().get_many(ids, sql.all_of(CURRENT, extra))

    def by_external_id(self, external_ids: Sequence[str], extra: str | None = None) -> dict[str, dict[str, Any]]:
        """Current rows by external id."""
        return super().by_external_id(external_ids, sql.all_of(CURRENT, extra))

    def get_version(self, id_: str, version: int) -> dict[str, Any] | None:
        rows = self.rows(sql.all_of(sql.eq("id", id_), sql.eq("version", version)))
        return rows[0] if rows else None

    def versions(self, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Every version of each asset, oldest first."""
        grouped = self.group_by("id", ids)
        for rows in grouped.values():
            rows.sort(key=lambda r: r["version"])
        return grouped

    def by_title(self, title_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        return self.group_by("title_id", title_ids, CURRENT)

    def by_producer(self, run_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        return self.group_by("produced_by", run_ids, CURRENT)

    def list(self, *, title_ids: Sequence[str] | None = None, media_type: str | None = None,
             role: str | None = None, all_versions: bool = False) -> pa.Table:
        """Assets as Arrow, for ML users: filter by titles, media type and role."""
        where = sql.all_of(
            None if all_versions else CURRENT,
            sql.is_in("title_id", title_ids) if title_ids is not None else None,
            sql.eq("media_type", media_type) if media_type else None,
            sql.eq("role", role) if role else None,
        )
        return self.scan(where).sort_by([("id", "ascending"), ("version", "ascending")])

    # --- writes -------------------------------------------------------------------------
    def register(self, inputs: Sequence[dict[str, Any]]) -> builtins.list[dict[str, Any]]:
        """Register a batch of delivered assets atomically; returns the current rows in input order."""
        with self.connection.write_lock:
            prepared = self.prepare(inputs)
            self.write(prepared)
        return prepared.results

    def prepare(self, inputs: Sequence[dict[str, Any]], *, produced_by: str | None = None,
                what: str = "registerAssets", problems: Problems | None = None) -> PreparedAssets:
        problems = problems or Problems(what, self.connection.max_batch)
        problems.check_batch(inputs)
        problems.unique(inputs, "external_id")
        technical: list[str | None] = []
        for i, row in enumerate(inputs):
            problems.required_text(i, row, "title_id")
            problems.one_of(i, row, "media_type", MEDIA_TYPES)
            problems.required_text(i, row, "role")
            problems.required_text(i, row, "uri")
            problems.checksum(i, row)
            problems.number(i, row, "size_bytes", minimum=0, integer=True)
            problems.number(i, row, "duration_seconds", minimum=0)
            problems.number(i, row, "width", positive=True, integer=True, maximum=2**31 - 1)
            problems.number(i, row, "height", positive=True, integer=True, maximum=2**31 - 1)
            problems.number(i, row, "frame_rate", positive=True)
            technical.append(to_json_text(problems, i, "technical", row.get("technical"), object_only=True))
        titles = self.view.titles.get_many([r["title_id"] for r in inputs if isinstance(r.get("title_id"), str)])
        for i, row in enumerate(inputs):
            if isinstance(row.get("title_id"), str) and row["title_id"] not in titles:
                problems.add(i, "title_id", f"unknown title {row['title_id']!r}", "NOT_FOUND")
        external = [r["external_id"] for r in inputs if r.get("external_id")]
        existing = {
            r["external_id"]: r
            for r in (self.view.scan("assets", sql.all_of(CURRENT, sql.is_in("external_id", external)),
                                     title_column=None).to_pylist() if external else [])
        }
        for i, row in enumerate(inputs):
            old = existing.get(row.get("external_id"))
            if old and old["title_id"] != row.get("title_id"):
                problems.add(i, "external_id", f"{row['external_id']!r} belongs to asset {old['id']} of title "
                             f"{old['title_id']}, not {row.get('title_id')}", "CONFLICT")
            if old and produced_by is None and old["produced_by"] is not None:
                problems.add(i, "external_id", f"asset {old['id']} is derived (by run {old['produced_by']}): "
                             "a delivery cannot replace it; record a run instead", "CONFLICT")
        problems.raise_if_any()

        stamp = now()
        rows: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        new_versions: list[dict[str, Any]] = []
        for row, tech in zip(inputs, technical, strict=True):
            old = existing.get(row.get("external_id"))
            record = {f: row.get(f) for f in FIELDS}
            record.update(technical=tech, updated_at=stamp, is_current=True,
                          produced_by=produced_by or (old["produced_by"] if old else None))
            if old is None:
                record.update(id=new_id("asset"), version=1, created_at=stamp)
                new_versions.append(record)
            elif (old["checksum"] != row.get("checksum") and row.get("checksum") is not None) or (
                    produced_by is not None and old["produced_by"] != produced_by):
                # new content, or the same asset derived again by another run: each version has one producer
                record.update(id=old["id"], version=old["version"] + 1, created_at=stamp)
                rows.append({**old, "is_current": False, "updated_at": stamp})
                new_versions.append(record)
            else:
                # the same content delivered again: refresh its metadata, keep its version
                record.update(id=old["id"], version=old["version"], created_at=old["created_at"])
            rows.append(record)
            results.append(record)
        return PreparedAssets(rows, results, new_versions)

    def write(self, prepared: PreparedAssets) -> None:
        rows = [{**r, "row_key": f"{r['id']}:{r['version']}"} for r in prepared.rows]
        if len(rows) == len(prepared.new_versions) and all(r["version"] == 1 for r in rows):
            # only brand-new assets: an append, no join against the table
            self.connection.add("assets", self.to_table(rows))
        else:
            self.connection.merge("assets", self.to_table(rows), on="row_key")

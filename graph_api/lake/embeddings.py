"""Embedding spaces (model + dimension) and one embeddings table per space.

A space becomes visible when its row in ``spaces`` is written, which happens after its
table holds the first vectors: a crash in between leaves an invisible table that
``sweep_orphans`` (run by ``mediagraph lake optimize``) drops.
"""
from __future__ import annotations

import builtins
import hashlib
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from graph_api.errors import NotFound
from graph_api.lake import sql
from graph_api.lake.base import Repo, now
from graph_api.lake.ids import prefix_of
from graph_api.lake.schemas import SPACES, TABLE_PREFIX, embeddings_schema
from graph_api.lake.segments import check_runs
from graph_api.lake.validate import Problems

SPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")
MAX_DIMENSION = 8192


def table_name_for(space: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", space.lower()).strip("_")[:40]
    return f"{TABLE_PREFIX}{slug}_{hashlib.sha1(space.encode()).hexdigest()[:8]}"


class Embeddings(Repo):
    table_name = "spaces"
    schema = SPACES
    title_column = None
    key = "name"

    def spaces(self) -> dict[str, dict[str, Any]]:
        # a handful of rows read on every search and every embeddings lookup: cached per table version
        return dict(self.connection.cached("spaces", "rows", lambda: {row["name"]: row for row in self.rows()}))

    def space(self, name: str) -> dict[str, Any] | None:
        return self.spaces().get(name)

    def _table(self, space: dict[str, Any]) -> Any:
        return self.connection.open_embeddings_table(space["table_name"], embeddings_schema(space["dimension"]))

    def by_subject(self, subject_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """For each subject, the spaces it has a vector in (one read per space)."""
        found: dict[str, list[dict[str, Any]]] = {s: [] for s in subject_ids}
        for space in sorted(self.spaces().values(), key=lambda s: s["name"]):
            self._table(space)
            rows = self.view.scan(space["table_name"], sql.is_in("subject_id", list(dict.fromkeys(subject_ids))),
                                  columns=["subject_id", "title_id", "produced_by"])
            for row in rows.to_pylist():
                found.setdefault(row["subject_id"], []).append({**space, "produced_by": row["produced_by"]})
        return found

    def list(self, space: str, *, title_ids: Sequence[str] | None = None, asset_ids: Sequence[str] | None = None,
             segment_kind: str | None = None) -> pa.Table:
        """A space's vectors with their subjects' metadata, as Arrow (the ML read path)."""
        row = self.space(space)
        if row is None:
            raise NotFound(f"unknown embedding space {space!r}", space=space)
        self._table(row)
        where = sql.all_of(
            sql.is_in("title_id", title_ids) if title_ids is not None else None,
            sql.is_in("asset_id", asset_ids) if asset_ids is not None else None,
            sql.eq("segment_kind", segment_kind) if segment_kind else None,
        )
        return self.view.scan(row["table_name"], where).sort_by([("subject_id", "ascending")])

    def upsert(self, space: str, model: str, inputs: Sequence[dict[str, Any]]) -> int:
        """Write vectors into ``space`` (created on first use); returns rows written."""
        with self.connection.write_lock:
            problems = Problems("upsertEmbeddings", self.connection.max_batch)
            if not isinstance(space, str) or not SPACE_NAME.match(space):
                problems.add(None, "space", f"space {space!r} must be 1-100 characters of letters, digits and ._:/-")
            if not isinstance(model, str) or not model.strip():
                problems.add(None, "model", "model is required")
            problems.check_batch(inputs)
            problems.unique(inputs, "subject_id")
            existing = self.space(space) if not problems.items else None
            dimension = existing["dimension"] if existing else None
            if existing and existing["model"] != model:
                problems.add(None, "model", f"space {space!r} holds vectors of model {existing['model']!r}, "
                             f"not {model!r}", "CONFLICT")
            for i, row in enumerate(inputs):
                vector = row.get("vector")
                if not isinstance(vector, (list, tuple)) or not vector:
                    problems.add(i, "vector", "must be a non-empty list of numbers")
                    continue
                if any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in vector):
                    problems.add(i, "vector", "holds a value that is not a finite number")
                if dimension is None:
                    dimension = len(vector)
                    if dimension > MAX_DIMENSION:
                        problems.add(i, "vector", f"dimension {dimension} exceeds the maximum of {MAX_DIMENSION}")
                elif len(vector) != dimension:
                    where = f"space {space!r} has" if existing else "input[0] set the batch's dimension to"
                    problems.add(i, "vector", f"has dimension {len(vector)}; {where} {dimension}")
            subjects = [r.get("subject_id") for r in inputs]
            asset_ids = [s for s in subjects if isinstance(s, str) and prefix_of(s) == "asset"]
            segment_ids = [s for s in subjects if isinstance(s, str) and prefix_of(s) == "seg"]
            segments = self.view.segments.get_many(segment_ids)
            assets = self.view.assets.get_many(asset_ids + [s["asset_id"] for s in segments.values()])
            for i, subject in enumerate(subjects):
                if not isinstance(subject, str) or prefix_of(subject) not in ("asset", "seg"):
                    problems.add(i, "subject_id", f"{subject!r} is not an asset or segment id")
                elif subject not in assets and subject not in segments:
                    problems.add(i, "subject_id", f"unknown {'asset' if subject.startswith('asset') else 'segment'} "
                                 f"{subject!r}", "NOT_FOUND")
            check_runs(self.view, problems, inputs)
            problems.raise_if_any()
            assert dimension is not None
            space_row = existing or {"name": space, "model": model, "dimension": dimension,
                                     "table_name": table_name_for(space), "created_at": now()}
            stamp = now()
            rows = []
            for row in inputs:
                segment = segments.get(row["subject_id"])
                asset = assets[segment["asset_id"] if segment else row["subject_id"]]
                rows.append({
                    "subject_id": row["subject_id"],
                    "subject_kind": "SEGMENT" if segment else "ASSET",
                    "asset_id": asset["id"],
                    "title_id": asset["title_id"],
                    "media_type": asset["media_type"],
                    "role": asset["role"],
                    "segment_kind": segment["kind"] if segment else None,
                    "start": segment["start"] if segment else None,
                    "end": segment["end"] if segment else None,
                    "text": segment["text"] if segment else None,
                    "vector": np.asarray(row["vector"], dtype=np.float32),
                    "produced_by": row.get("run_id"),
                    "created_at": stamp,
                })
            schema = embeddings_schema(dimension)
            self.connection.open_embeddings_table(space_row["table_name"], schema)
            table = pa.Table.from_pylist(rows, schema=schema)
            self.connection.merge(space_row["table_name"], table, on="subject_id")
            if existing is None:
                self.connection.merge("spaces", self.to_table([space_row]), on="name")
        return len(rows)

    def delete(self, spaces: Sequence[str] | None = None, *, subject_ids: Sequence[str] = (),
               produced_by: str | None = None) -> None:
        """Delete vectors of these subjects, or those a run produced, from the given spaces (default: all)."""
        if produced_by is None and not subject_ids:
            return
        where = sql.eq("produced_by", produced_by) if produced_by else sql.is_in("subject_id", subject_ids)
        known = self.spaces()
        for name in sorted(known if spaces is None else spaces):
            space = known.get(name)
            if space is None:
                continue
            self._table(space)
            # a delete is a commit: skip it when nothing matches (the common case for other spaces)
            if self.view.scan(space["table_name"], where, columns=["subject_id"], limit=1,
                              title_column=None).num_rows:
                self.connection.delete(space["table_name"], where)

    def sweep_orphans(self) -> builtins.list[str]:
        """Drop embeddings tables whose space row was never written (a crash between the two commits)."""
        known = {row["table_name"] for row in self.rows()}
        dropped = []
        for name in self.connection.table_names():
            if name.startswith(TABLE_PREFIX) and name not in known:
                self.connection.drop_table(name)
                dropped.append(name)
        return dropped

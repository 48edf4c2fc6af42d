"""Annotations of an asset or one of its segments: compliance flags, audio-quality metrics, ..."""
from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from graph_api.lake import sql
from graph_api.lake.base import Repo, now
from graph_api.lake.ids import new_id
from graph_api.lake.schemas import ANNOTATIONS
from graph_api.lake.segments import check_runs
from graph_api.lake.validate import Problems, to_json_text


class Annotations(Repo):
    table_name = "annotations"
    schema = ANNOTATIONS

    def by_asset(self, asset_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        return self.group_by("asset_id", asset_ids)

    def by_segment(self, segment_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        return self.group_by("segment_id", segment_ids)

    def list(self, *, asset_ids: Sequence[str] | None = None, title_ids: Sequence[str] | None = None,
             label: str | None = None, category: str | None = None) -> pa.Table:
        where = sql.all_of(
            sql.is_in("asset_id", asset_ids) if asset_ids is not None else None,
            sql.is_in("title_id", title_ids) if title_ids is not None else None,
            sql.eq("label", label) if label else None,
            sql.eq("category", category) if category else None,
        )
        return self.scan(where).sort_by([("asset_id", "ascending"), ("id", "ascending")])

    def add(self, inputs: Sequence[dict[str, Any]]) -> builtins.list[dict[str, Any]]:
        with self.connection.write_lock:
            problems = Problems("addAnnotations", self.connection.max_batch)
            problems.check_batch(inputs)
            values: list[str | None] = []
            for i, row in enumerate(inputs):
                problems.required_text(i, row, "asset_id")
                problems.required_text(i, row, "label")
                problems.number(i, row, "confidence", minimum=0, maximum=1)
                problems.time_range(i, row, required=False)
                values.append(to_json_text(problems, i, "value", row.get("value")))
            assets = self.view.assets.get_many([r["asset_id"] for r in inputs if isinstance(r.get("asset_id"), str)])
            segments = self.view.segments.get_many([r["segment_id"] for r in inputs if r.get("segment_id")])
            for i, row in enumerate(inputs):
                if isinstance(row.get("asset_id"), str) and row["asset_id"] not in assets:
                    problems.add(i, "asset_id", f"unknown asset {row['asset_id']!r}", "NOT_FOUND")
                segment_id = row.get("segment_id")
                if segment_id is not None:
                    segment = segments.get(segment_id)
                    if segment is None:
                        problems.add(i, "segment_id", f"unknown segment {segment_id!r}", "NOT_FOUND")
                    elif segment["asset_id"] != row.get("asset_id"):
                        problems.add(i, "segment_id", f"segment {segment_id} belongs to asset {segment['asset_id']}, "
                                     f"not {row.get('asset_id')}", "CONFLICT")
            check_runs(self.view, problems, inputs)
            problems.raise_if_any()
            stamp = now()
            rows = []
            for row, value in zip(inputs, values, strict=True):
                segment_id = row.get("segment_id")
                segment = segments.get(segment_id) if isinstance(segment_id, str) else None
                start, end = row.get("start"), row.get("end")
                if segment is not None and start is None and end is None:
                    # an annotation of a segment is time-coded like the segment
                    start, end = segment["start"], segment["end"]
                rows.append({
                    "id": new_id("ann"),
                    "asset_id": row["asset_id"],
                    "title_id": assets[row["asset_id"]]["title_id"],
                    "segment_id": row.get("segment_id"),
                    "label": row["label"].strip(),
                    "category": row.get("category"),
                    "value": value,
                    "confidence": row.get("confidence"),
                    "start": None if start is None else float(start),
                    "end": None if end is None else float(end),
                    "produced_by": row.get("run_id"),
                    "created_at": stamp,
                })
            self.connection.add("annotations", self.to_table(rows))
        return rows

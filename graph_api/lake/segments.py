"""Time-coded segments of an asset: shots, scenes, frames and dialogue lines."""
from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from graph_api.lake import sql
from graph_api.lake.base import Repo, View, now
from graph_api.lake.ids import new_id
from graph_api.lake.schemas import SEGMENT_KINDS, SEGMENTS
from graph_api.lake.validate import Problems


def check_runs(view: View, problems: Problems, inputs: Sequence[dict[str, Any]], field: str = "run_id") -> None:
    """Rows may name only runs the view sees (a hidden run's rows would be hidden too)."""
    named = {row[field] for row in inputs if isinstance(row.get(field), str)}
    visible = view.runs.visible_runs(named) if named else set()
    for i, row in enumerate(inputs):
        run_id = row.get(field)
        if run_id is not None and run_id not in visible:
            problems.add(i, field, f"unknown run {run_id!r}", "NOT_FOUND")


class Segments(Repo):
    table_name = "segments"
    schema = SEGMENTS

    def by_asset(self, asset_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        grouped = self.group_by("asset_id", asset_ids)
        for rows in grouped.values():
            rows.sort(key=lambda r: (r["start"], r["end"], r["id"]))
        return grouped

    def list(self, *, asset_ids: Sequence[str] | None = None, title_ids: Sequence[str] | None = None,
             kind: str | None = None, start: float | None = None, end: float | None = None) -> pa.Table:
        """Segments as Arrow; ``start``/``end`` keep segments overlapping that time window."""
        where = sql.all_of(
            sql.is_in("asset_id", asset_ids) if asset_ids is not None else None,
            sql.is_in("title_id", title_ids) if title_ids is not None else None,
            sql.eq("kind", kind) if kind else None,
            f"`end` >= {float(start)!r}" if start is not None else None,
            f"`start` <= {float(end)!r}" if end is not None else None,
        )
        return self.scan(where).sort_by([("asset_id", "ascending"), ("start", "ascending"), ("id", "ascending")])

    def add(self, inputs: Sequence[dict[str, Any]]) -> builtins.list[dict[str, Any]]:
        with self.connection.write_lock:
            problems = Problems("addSegments", self.connection.max_batch)
            problems.check_batch(inputs)
            for i, row in enumerate(inputs):
                problems.required_text(i, row, "asset_id")
                problems.one_of(i, row, "kind", SEGMENT_KINDS)
                problems.time_range(i, row, required=True)
            assets = self.view.assets.get_many([r["asset_id"] for r in inputs if isinstance(r.get("asset_id"), str)])
            for i, row in enumerate(inputs):
                asset_id = row.get("asset_id")
                asset = assets.get(asset_id) if isinstance(asset_id, str) else None
                if isinstance(asset_id, str) and asset is None:
                    problems.add(i, "asset_id", f"unknown asset {row['asset_id']!r}", "NOT_FOUND")
                elif asset and asset["duration_seconds"] is not None and row.get("start") is not None \
                        and isinstance(row["start"], (int, float)) and row["start"] > asset["duration_seconds"] + 1e-6:
                    problems.add(i, "start", f"{row['start']} is past the end of asset {asset['id']} "
                                 f"({asset['duration_seconds']} s)")
            check_runs(self.view, problems, inputs)
            problems.raise_if_any()
            stamp = now()
            rows = [{
                "id": new_id("seg"),
                "asset_id": row["asset_id"],
                "title_id": assets[row["asset_id"]]["title_id"],
                "kind": row["kind"],
                "start": float(row["start"]),
                "end": float(row["end"]),
                "text": row.get("text"),
                "produced_by": row.get("run_id"),
                "created_at": stamp,
            } for row in inputs]
            self.connection.add("segments", self.to_table(rows))
        return rows

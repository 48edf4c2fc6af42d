"""Lineage as of a point in time.

The graph is rebuilt from the runs recorded at or before ``ts`` (an O(graph) copy:
point-in-time questions are rare next to live ones, and a copy keeps every pure
query working unchanged). Asset infos keep their current version: lineage holds
no asset history, so staleness as of ``ts`` is judged against today's versions,
and so are job versions.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lineage.graph import LineageGraph


def as_of(graph: LineageGraph, ts: datetime) -> LineageGraph:
    """The graph without runs recorded after ``ts`` and assets created after it.

    An asset that a kept run read or wrote is kept whatever its ``created_at``:
    re-delivery moves ``created_at`` forward, yet the asset clearly existed.
    """
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    runs = [r for r in graph.runs() if r.recorded_at <= ts]
    used: set[str] = set()
    for run in runs:
        used.update(ref.asset_id for ref in run.inputs)
        used.update(run.outputs)
    assets = [a for a in graph.assets() if a.created_at <= ts or a.id in used]
    return LineageGraph(graph.jobs(), runs, assets)

"""Lineage as of a point in time.

``traverse_as_of`` answers a bounded traversal by filtering on commit time while it walks the
live graph: a run is there if it was recorded at or before ``ts``, an edge if its run is, an
asset if it was created by then or a kept run read or wrote it. That is the graph ``as_of``
copies, without the O(graph) copy, for every walk whose answer holds no run a later run replaced
after the cut (the live graph has dropped that run's replaceable outputs; the copy has them):
those walks, and a root the past graph does not hold, take the copy.

``as_of`` rebuilds the graph from the runs recorded at or before ``ts`` (provenance uses it).
Asset infos keep their current version: lineage holds no asset history, so staleness as of
``ts`` is judged against today's versions, and so are job versions.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from datetime import UTC, datetime

from lineage.bulk import REPLACEABLE_PREFIXES
from lineage.graph import LineageGraph, to_micros
from lineage.model import RUN_PREFIX
from lineage.traversal import Direction, Limits, Traversal, check_request, walk


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


def traverse_as_of(graph: LineageGraph, root: str, direction: Direction, max_depth: int, limit: int,
                   limits: Limits, ts: datetime) -> Traversal | None:
    """``traverse(as_of(graph, ts), ...)`` without the copy; None where only the copy can answer."""
    check_request(direction, max_depth, limit, limits)
    if root not in graph:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    cutoff = to_micros(ts)
    recorded = graph.recorded_at_micros
    replaced = _Replacements(graph, cutoff)
    g = graph.digraph

    def kept(run_id: str) -> bool:
        at = recorded(run_id)
        return at is not None and at <= cutoff

    if root.startswith(RUN_PREFIX):
        if not kept(root):
            return None
    else:
        info = graph.asset(root)
        # an asset of the past graph: created by then, or read or written by a kept run
        if not ((info is not None and info.created_at <= ts)
                or any(kept(n) for n in (*g._succ[root], *g._pred[root]) if n.startswith(RUN_PREFIX))):
            return None
    upward = direction != "DOWNSTREAM"

    def level_ok(level: list[str]) -> bool:
        return not upward or all(_same_producers(graph, u, kept) for u in level if u.startswith(REPLACEABLE_PREFIXES))

    def prune(frontier: set[str]) -> bool:
        """Drop the runs recorded after ts; a run replaced in the live graph but not yet at the cut
        (the past graph still links it) is beyond what filtering can answer."""
        for run_id in [n for n in frontier if n.startswith(RUN_PREFIX)]:
            if not kept(run_id):
                frontier.discard(run_id)
            elif graph.is_replaced(run_id) and not replaced.by_cut(run_id):
                return False
        return True

    if root.startswith(RUN_PREFIX) and graph.is_replaced(root) and not replaced.by_cut(root):
        return None
    return walk(graph, root, direction, max_depth, limit, level_ok=level_ok, prune=prune)


def _same_producers(graph: LineageGraph, node_id: str, kept: Callable[[str], bool]) -> bool:
    """Whether the past graph gives this segment, annotation or embedding the live graph's producer:
    a later run that replaced its producer unlinked it in the live graph (and a run that made it
    again after ts links it now), while the past graph still links the first producer."""
    producers = graph.digraph._pred[node_id]
    return bool(producers) and all(kept(p) for p in producers)


class _Replacements:
    """Whether a run replaced in the live graph was already replaced at the cut: a later COMPLETED
    run of its job over the same inputs was recorded by then (``LineageGraph._supersede``'s rule).
    The runs of a group all read each input, so one input's readers hold the group; they are read
    once per walk, whatever number of the group's runs the walk meets."""

    def __init__(self, graph: LineageGraph, cutoff: int) -> None:
        self.graph = graph
        self.cutoff = cutoff
        # an input -> (job, inputs) -> the recorded times of its COMPLETED runs, sorted
        self._groups: dict[str, dict[tuple[tuple[str, str], frozenset[str]], list[int]]] = {}

    def by_cut(self, run_id: str) -> bool:
        graph = self.graph
        run = graph.get_run(run_id)
        if run is None or not run.inputs:
            return False
        ids = frozenset(ref.asset_id for ref in run.inputs)
        succ = graph.digraph._succ
        fewest = min(ids, key=lambda a: len(succ.get(a, ())))
        groups = self._groups.get(fewest)
        if groups is None:
            groups = self._groups[fewest] = {}
            for other_id in succ.get(fewest, ()):
                other = graph.get_run(other_id) if other_id.startswith(RUN_PREFIX) else None
                if other is not None and other.status == "COMPLETED":
                    key = (other.job_key, frozenset(ref.asset_id for ref in other.inputs))
                    groups.setdefault(key, []).append(to_micros(other.recorded_at))
            for times in groups.values():
                times.sort()
        times = groups.get((run.job_key, ids), [])
        since = to_micros(run.recorded_at)
        # the first COMPLETED run of the group recorded after this one: by the cut or not
        later = bisect_right(times, since)
        return later < len(times) and times[later] <= self.cutoff

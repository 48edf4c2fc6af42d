"""Staleness: which derived outputs no longer match their inputs or their job.

A run is *directly* stale when an input it read now has a newer version, or when
its job's current version differs from the version it executed. A run is stale
when it is directly stale or any of its inputs is stale; an output (asset,
segment, annotation, embedding) is stale when its producing run is. Delivered
assets (no producer) are never stale.

Each public function memoizes within its call, so a 10k-asset subtree is one pass.
"""

from __future__ import annotations

from collections.abc import Iterable

from lineage.errors import UnknownEntityError
from lineage.graph import LineageGraph
from lineage.model import RUN_PREFIX, Run
from lineage.traversal import _topological


def direct_reasons(graph: LineageGraph, run: Run) -> list[str]:
    """Why ``run`` itself is out of date, ignoring its ancestors."""
    reasons = []
    job = graph.get_job(run.namespace, run.job_name)
    if job is not None and job.version != run.job_version:
        reasons.append(
            f"job {run.namespace}/{run.job_name} is at version {job.version}, "
            f"run {run.id} executed {run.job_version}"
        )
    for ref in run.inputs:
        info = graph.asset(ref.asset_id)
        if info is not None and info.version > ref.version:
            reasons.append(
                f"input {ref.asset_id} is at version {info.version}, "
                f"run {run.id} used version {ref.version}"
            )
    return reasons


class _Memo:
    """Staleness of runs and outputs, computed on demand and remembered for one call.

    ``known`` maps run ids and output ids alike to a bool, so checking an input is
    one dict lookup: the hot path of every staleness query.
    """

    __slots__ = ("runs", "jobs", "assets", "pred", "known")

    def __init__(self, graph: LineageGraph) -> None:
        self.runs = graph._runs
        self.jobs = graph._jobs
        self.assets = graph._assets
        self.pred = graph.digraph._pred
        self.known: dict[str, bool] = {}

    def direct(self, run: Run) -> bool:
        job = self.jobs.get((run.namespace, run.job_name))
        if job is not None and job.version != run.job_version:
            return True
        assets = self.assets
        for ref in run.inputs:
            info = assets.get(ref.asset_id)
            if info is not None and info.version > ref.version:
                return True
        return False

    def settle(self, run: Run, stale: bool) -> None:
        known = self.known
        known[run.id] = stale
        for out in run.outputs:
            known[out] = stale

    def run(self, run_id: str) -> bool:
        """Staleness of a run; iterative post-order so deep chains cannot overflow."""
        known = self.known
        if run_id in known:
            return known[run_id]
        pred, runs = self.pred, self.runs
        stack = [run_id]
        while stack:
            rid = stack[-1]
            if rid in known:
                stack.pop()
                continue
            run = runs.get(rid)
            if run is None:
                known[rid] = False
                stack.pop()
                continue
            missing: list[str] = []
            result = False
            for ref in run.inputs:
                a = ref.asset_id
                s = known.get(a)
                if s is None:
                    producers = pred.get(a)
                    if not producers:
                        known[a] = False  # a delivered source
                        continue
                    s = known.get(next(iter(producers)))
                    if s is None:
                        missing.append(next(iter(producers)))
                        continue
                    known[a] = s
                if s:
                    result = True
                    break
            if not result and missing:
                stack.extend(missing)
                continue
            self.settle(run, result or self.direct(run))
            stack.pop()
        return known[run_id]

    def node(self, node_id: str) -> bool:
        known = self.known.get(node_id)
        if known is not None:
            return known
        if node_id.startswith(RUN_PREFIX):
            return self.run(node_id)
        producers = self.pred.get(node_id)
        if not producers:
            self.known[node_id] = False
            return False
        return self.run(next(iter(producers)))


def _require(graph: LineageGraph, node_id: str) -> None:
    if node_id not in graph:
        raise UnknownEntityError(f"unknown lineage node {node_id}")


def is_stale(graph: LineageGraph, node_id: str) -> bool:
    _require(graph, node_id)
    return _Memo(graph).node(node_id)


def stale_reasons(graph: LineageGraph, node_id: str) -> list[str]:
    """Human-readable causes: the producing run's own, then each stale ancestor run's."""
    _require(graph, node_id)
    memo = _Memo(graph)
    if not memo.node(node_id):
        return []
    run_id = node_id if node_id.startswith(RUN_PREFIX) else graph.producer_of(node_id)
    assert run_id is not None
    own = graph.get_run(run_id)
    reasons = direct_reasons(graph, own) if own is not None else []
    upstream = _ancestor_runs(graph, run_id)
    for rid in sorted(upstream):
        run = graph.get_run(rid)
        if run is not None and memo.direct(run):
            reasons.extend(f"upstream: {r}" for r in direct_reasons(graph, run))
    return reasons


def _ancestor_runs(graph: LineageGraph, run_id: str) -> set[str]:
    pred = graph.digraph._pred
    seen: set[str] = set()
    stack = [run_id]
    while stack:
        for v in pred[stack.pop()]:
            if v not in seen:
                seen.add(v)
                stack.append(v)
    return {n for n in seen if n.startswith(RUN_PREFIX)}


def _stale_under(graph: LineageGraph, root: str, memo: _Memo) -> set[str]:
    """Every stale node at or below ``root`` (runs and outputs alike).

    One breadth-first pass. A run found stale taints its whole subtree with set
    operations, and tainted nodes are not expanded again, so the cost is about one
    walk of the subtree whether nothing or everything is stale.
    """
    succ = graph.digraph._succ
    if memo.node(root):
        # Everything derived from a stale node is stale: no per-run checks needed.
        return _below(succ, {root}, set())
    runs, jobs, assets = memo.runs, memo.jobs, memo.assets
    visited = {root}
    tainted: set[str] = set()
    level = {root}
    while level:
        nxt: set[str] = set()
        nxt.update(*[succ[u] for u in level])
        nxt -= visited
        nxt -= tainted
        visited |= nxt
        for v in nxt:
            run = runs.get(v)
            if run is None or v in tainted:
                continue
            job = jobs.get((run.namespace, run.job_name))
            stale = job is not None and job.version != run.job_version
            if not stale:
                for ref in run.inputs:
                    a = ref.asset_id
                    info = assets.get(a)
                    if info is not None and info.version > ref.version:
                        stale = True
                        break
                    # An input not reached yet comes from elsewhere (or a deeper
                    # level): settle it upstream, memoized.
                    if a not in visited and memo.node(a):
                        stale = True
                        break
            memo.settle(run, stale)
            if stale:
                tainted |= _below(succ, {v}, tainted)
        level = nxt - tainted if tainted else nxt
    return tainted


def _below(succ: dict[str, dict[str, object]], start: set[str], skip: set[str]) -> set[str]:
    """``start`` and everything downstream of it, not expanding nodes in ``skip``."""
    seen = set(start)
    frontier = start
    while frontier:
        nxt: set[str] = set()
        nxt.update(*[succ[u] for u in frontier])
        nxt -= seen
        nxt -= skip
        seen |= nxt
        frontier = nxt
    return seen


def stale_runs(graph: LineageGraph, root: str | None = None) -> list[str]:
    """Every stale run (or those downstream of ``root``), sorted."""
    memo = _Memo(graph)
    if root is None:
        return sorted(r for r in graph._runs if memo.run(r))
    _require(graph, root)
    return sorted(n for n in _stale_under(graph, root, memo) if n.startswith(RUN_PREFIX))


def stale_assets(graph: LineageGraph, root: str | None = None) -> list[str]:
    """Every stale asset, or the stale assets at and below ``root``; sorted.

    Assets are the nodes lineage has an AssetInfo for (segments etc. have none).
    """
    memo = _Memo(graph)
    nodes: set[str] = set()
    if root is None:
        for rid, run in graph._runs.items():
            if memo.run(rid):
                nodes.update(run.outputs)
    else:
        _require(graph, root)
        nodes = _stale_under(graph, root, memo)
    # dict_keys & set iterates the (small) set; set & dict_keys would walk every asset.
    return sorted(graph._assets.keys() & nodes)


def recompute_plan(graph: LineageGraph, asset_ids: Iterable[str] | None = None) -> list[str]:
    """The runs to redo, in topological order (ties by id).

    With ``asset_ids``: the stale producers of those nodes and every stale run they
    depend on. Without: every stale run in the graph.
    """
    memo = _Memo(graph)
    if asset_ids is None:
        plan = {r for r in graph._runs if memo.run(r)}
    else:
        plan = set()
        for aid in asset_ids:
            _require(graph, aid)
            rid = aid if aid.startswith(RUN_PREFIX) else graph.producer_of(aid)
            if rid is None or not memo.run(rid):
                continue
            plan.add(rid)
            plan.update(r for r in _ancestor_runs(graph, rid) if memo.run(r))
    return _topological(graph, plan)

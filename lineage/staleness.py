"""Staleness: which derived outputs no longer match their inputs or their job.

A run is *directly* stale when an input it read now has a newer version, or when
its job's current version differs from the version it executed. A run is stale
when it is directly stale or any of its inputs is stale; an output (asset,
segment, annotation, embedding) is stale when its producing run is. Delivered
assets (no producer) are never stale.

A run is *replaced* by a later COMPLETED run of the same job over the same input
assets (any versions): the later run made its segments, annotations and embeddings
again, and its assets moved on to newer versions as they were derived again. A
replaced run that produces nothing any more has nothing to recompute, so it is
never stale: after a full re-derive, ``stale_assets``, ``stale_runs`` and
``recompute_plan`` are all empty, in a graph rebuilt from the store too.

The graph keeps the set of directly stale runs current on every write, so a node
is stale exactly when a run at or above it is in that set: a question about one
node walks up its (short) ancestry, and a question about a subtree walks the
subtree once with set operations, whether nothing or everything in it is stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

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
        current = graph.asset_version(ref.asset_id)
        if current is not None and current > ref.version:
            reasons.append(
                f"input {ref.asset_id} is at version {current}, "
                f"run {run.id} used version {ref.version}"
            )
    return reasons


def _require(graph: LineageGraph, node_id: str) -> None:
    if node_id not in graph:
        raise UnknownEntityError(f"unknown lineage node {node_id}")


def _stale_seeds(graph: LineageGraph, nodes: Iterable[str]) -> set[str]:
    """The directly stale runs among ``nodes``."""
    nodes = nodes if isinstance(nodes, (set, frozenset)) else set(nodes)
    return (graph._stale_job & nodes) | (graph._stale_input & nodes)


def _up(graph: LineageGraph, start: Iterable[str]) -> set[str]:
    """Everything upstream of ``start`` (not ``start`` itself unless reached again)."""
    pred = graph.digraph._pred
    seen: set[str] = set()
    frontier = set(start)
    while frontier:
        nxt: set[str] = set()
        nxt.update(*[pred[u] for u in frontier])
        nxt -= seen
        seen |= nxt
        frontier = nxt
    return seen


def _node_stale(graph: LineageGraph, node_id: str) -> bool:
    if not graph._stale_job and not graph._stale_input:
        return False
    if graph.is_retired(node_id):
        return False
    above = _up(graph, [node_id])
    above.add(node_id)
    return bool(_stale_seeds(graph, above))


def is_stale(graph: LineageGraph, node_id: str) -> bool:
    _require(graph, node_id)
    return _node_stale(graph, node_id)


def stale_reasons(graph: LineageGraph, node_id: str) -> list[str]:
    """Human-readable causes: the producing run's own, then each stale ancestor run's."""
    _require(graph, node_id)
    if not _node_stale(graph, node_id):
        return []
    run_id = node_id if node_id.startswith(RUN_PREFIX) else graph.producer_of(node_id)
    assert run_id is not None
    own = graph.get_run(run_id)
    reasons = direct_reasons(graph, own) if own is not None else []
    for rid in sorted(_ancestor_runs(graph, run_id)):
        if graph.directly_stale(rid):
            run = graph.get_run(rid)
            if run is not None:
                reasons.extend(f"upstream: {r}" for r in direct_reasons(graph, run))
    return reasons


def _ancestor_runs(graph: LineageGraph, run_id: str) -> set[str]:
    return {n for n in _up(graph, [run_id]) if n.startswith(RUN_PREFIX)}


def _below(succ: dict[str, Any], start: set[str], within: set[str] | None = None) -> set[str]:
    """``start`` and everything downstream of it (staying inside ``within`` when given)."""
    seen = set(start)
    frontier = start
    while frontier:
        nxt: set[str] = set()
        nxt.update(*[succ[u] for u in frontier])
        nxt -= seen
        if within is not None:
            nxt &= within
        seen |= nxt
        frontier = nxt
    return seen


def _stale_under_indexed(graph: LineageGraph, root: str) -> np.ndarray:
    """``_stale_under`` on the integer index: node codes, unsorted."""
    ix = graph._index
    assert ix is not None
    succ = graph.digraph._succ
    r = np.array([ix.code(root)], dtype=np.int64)
    if _node_stale(graph, root):
        return ix.below(r, succ)[0]
    sub, inside = ix.below(r, succ)
    stale = ix.mask(ix.stale_job, sub, graph._stale_job.__contains__)
    stale |= ix.mask(ix.stale_input, sub, graph._stale_input.__contains__)
    seeds = sub[stale]
    multi = sub[ix.mask(ix.multi_input, sub, graph._multi_input.__contains__) & ~stale]
    more = []
    for rid, c in zip(ix.ids(multi), multi.tolist()):
        for aid, _ in graph.run_inputs(rid):
            a = ix.code(aid)
            if (a is None or not inside[a]) and _node_stale(graph, aid):
                more.append(c)
                break
    if more:
        seeds = np.concatenate([seeds, np.array(more, dtype=np.int64)])
    if not seeds.size:
        return seeds
    return ix.below(seeds, succ)[0]


def _stale_under(graph: LineageGraph, root: str) -> set[str]:
    """Every stale node at or below ``root`` (runs and outputs alike)."""
    succ = graph.digraph._succ
    if _node_stale(graph, root):
        # Everything derived from a stale node is stale: no per-run checks needed.
        return _below(succ, {root})
    subtree = _below(succ, {root})
    seeds = _stale_seeds(graph, subtree)
    # A run below root with an input from outside the subtree is stale when that input
    # is; only runs with several inputs can have one (a one-input run is reached
    # through its input).
    for rid in graph._multi_input & subtree:
        if rid in seeds:
            continue
        for aid, _ in graph.run_inputs(rid):
            if aid not in subtree and _node_stale(graph, aid):
                seeds.add(rid)
                break
    if not seeds:
        return set()
    return _below(succ, seeds)


def _all_stale(graph: LineageGraph) -> set[str]:
    """Every stale node in the graph."""
    seeds = graph._stale_job | graph._stale_input
    return _below(graph.digraph._succ, seeds) if seeds else set()


def _runs_of(graph: LineageGraph, nodes: Iterable[str]) -> list[str]:
    """The runs among ``nodes`` with something to recompute, sorted."""
    return sorted(n for n in nodes if n.startswith(RUN_PREFIX) and not graph.is_retired(n))


def stale_runs(graph: LineageGraph, root: str | None = None) -> list[str]:
    """Every stale run (or those downstream of ``root``), sorted."""
    if root is None:
        return _runs_of(graph, _all_stale(graph))
    _require(graph, root)
    ix = graph._index
    if ix is not None:
        return _runs_of(graph, ix.ids(_stale_under_indexed(graph, root)))
    return _runs_of(graph, _stale_under(graph, root))


def stale_assets(graph: LineageGraph, root: str | None = None) -> list[str]:
    """Every stale asset, or the stale assets at and below ``root``; sorted.

    Assets are the nodes lineage has an AssetInfo for (segments etc. have none).
    """
    if root is None:
        nodes = _all_stale(graph)
    else:
        _require(graph, root)
        ix = graph._index
        if ix is not None:
            codes = _stale_under_indexed(graph, root)
            codes = codes[ix.mask(ix.is_asset, codes, graph._assets.__contains__)]
            return ix.ids(ix.sort(codes))
        nodes = _stale_under(graph, root)
    # keys() & set iterates the (small) set; set & keys() would walk every asset.
    return sorted(graph.asset_ids() & nodes)


def recompute_plan(graph: LineageGraph, asset_ids: Iterable[str] | None = None) -> list[str]:
    """The runs to redo, in topological order (ties by id).

    With ``asset_ids``: the stale producers of those nodes and every stale run they
    depend on. Without: every stale run in the graph.
    """
    if asset_ids is None:
        return _topological(graph, _runs_of(graph, _all_stale(graph)))
    succ = graph.digraph._succ
    plan: set[str] = set()
    for aid in asset_ids:
        _require(graph, aid)
        rid = aid if aid.startswith(RUN_PREFIX) else graph.producer_of(aid)
        if rid is None or rid in plan:
            continue
        above = _up(graph, [rid])
        above.add(rid)
        seeds = _stale_seeds(graph, above)
        if seeds:
            # the stale part of rid's ancestry: what lies below a directly stale run
            plan.update(_runs_of(graph, _below(succ, seeds, above)))
    return _topological(graph, sorted(plan))

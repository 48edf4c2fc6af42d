"""A traversal as of a time filters the live graph while it walks, and answers exactly what the
same traversal over the copied past graph (``as_of``) answers."""
from __future__ import annotations

from datetime import timedelta

from lineage import Limits, LineageGraph, as_of, traverse
from lineage.history import traverse_as_of
from lineage.model import ID_PREFIXES
from tests.lineage.conftest import Factory

DIRECTIONS = ("DOWNSTREAM", "UPSTREAM", "BOTH")


def assert_same_as_the_copy(graph: LineageGraph, cuts: list, *, max_depth: int = 10, limit: int = 100) -> int:
    """Every node as root, every direction, every cut: the walk equals the copy's; returns how many walked."""
    walked = 0
    for cut in cuts:
        past = as_of(graph, cut)
        for root in sorted(graph.digraph.nodes):
            for direction in DIRECTIONS:
                fast = traverse_as_of(graph, root, direction, max_depth, limit, Limits(), cut)
                if fast is None:
                    continue  # the copy answers these
                walked += 1
                assert root in past
                assert fast == traverse(past, root, direction, max_depth, limit), (root, direction, cut)
    return walked


def test_the_walk_equals_the_copy_at_every_cut(make: Factory, pipeline: LineageGraph) -> None:
    make.derive(pipeline, "run_5", ["asset_sub", "asset_proxy"], ["asset_burnin"], role="burn-in")
    times = sorted(r.recorded_at for r in pipeline.runs())
    cuts = [times[0] - timedelta(seconds=1), *times, times[-1] + timedelta(days=1)]
    assert assert_same_as_the_copy(pipeline, cuts) > 50
    assert assert_same_as_the_copy(pipeline, cuts, max_depth=2, limit=3) > 50


def test_a_run_replaced_after_the_cut_takes_the_copy(make: Factory, pipeline: LineageGraph) -> None:
    ann = ID_PREFIXES["annotation"]
    make.derive(pipeline, "run_6", ["asset_f1"], [f"{ann}1"], job="detect")
    cut = pipeline.get_run("run_6").recorded_at
    make.derive(pipeline, "run_7", ["asset_f1"], [f"{ann}2"], job="detect")  # replaces run_6 after the cut
    assert pipeline.is_replaced("run_6")
    assert traverse_as_of(pipeline, "asset_f1", "DOWNSTREAM", 10, 100, Limits(), cut) is None
    assert traverse_as_of(pipeline, f"{ann}1", "UPSTREAM", 10, 100, Limits(), cut) is None
    assert_same_as_the_copy(pipeline, [cut, cut + timedelta(days=1)])
    # a run the cut does not hold is no root of the past graph
    assert traverse_as_of(pipeline, "run_7", "BOTH", 10, 100, Limits(), cut) is None

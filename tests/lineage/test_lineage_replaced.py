"""A later COMPLETED run of the same job over the same inputs replaces an earlier run: its
segments, annotations and embeddings were made again, so the earlier run is not stale, in a
graph built from records, built in bulk, and caught up incrementally alike. And a run is
validated once, with every problem collected."""

from __future__ import annotations

import pytest

from lineage import (
    InvalidRunError,
    LineageGraph,
    UnknownEntityError,
    recompute_plan,
    stale_assets,
    stale_runs,
)
from lineage.errors import Problem
from lineage.staleness import is_stale
from lineage.store import inputs_to_arrow, outputs_to_arrow, runs_to_arrow

from .conftest import Factory


def _bulk(g: LineageGraph) -> LineageGraph:
    runs = list(g.runs())
    ins = inputs_to_arrow([(r.id, i, ref) for r in runs for i, ref in enumerate(r.inputs)])
    outs = outputs_to_arrow([(r.id, i, o) for r in runs for i, o in enumerate(r.outputs)])
    return LineageGraph.from_tables(g.jobs(), runs_to_arrow(runs), ins, outs, list(g.assets()))


def _subtitle_story(make: Factory) -> LineageGraph:
    """dialogue and embeddings of a subtitle file, then version 2 and its dialogue again."""
    g = LineageGraph(assets=[make.asset("asset_sub", role="subtitle", media_type="TEXT")])
    make.derive(g, "run_d1", ["asset_sub"], ["seg_1", "seg_2"], job="dialogue")
    make.derive(g, "run_e1", ["asset_sub"], ["emb:minilm:seg_1", "emb:minilm:seg_2"], job="embed")
    g.upsert_assets([make.asset("asset_sub", version=2, role="subtitle", media_type="TEXT")])
    make.derive(g, "run_d2", ["asset_sub"], ["seg_3", "seg_4"], job="dialogue")
    return g


def _stale(g: LineageGraph) -> tuple[list[str], list[str], list[str]]:
    return stale_runs(g), recompute_plan(g), stale_runs(g, "asset_sub")


def test_a_redone_run_replaces_the_old_one_everywhere(make: Factory) -> None:
    g = _subtitle_story(make)
    # the dialogue was redone for version 2; its embeddings were not yet
    assert _stale(g) == (["run_e1"], ["run_e1"], ["run_e1"])
    assert not is_stale(g, "run_d1") and not is_stale(g, "seg_1") and g.is_retired("run_d1")
    assert g.get_run("run_d1").outputs == ("seg_1", "seg_2")  # the record keeps what it made
    assert _stale(_bulk(g)) == _stale(g)

    make.derive(g, "run_e2", ["asset_sub"], ["emb:minilm:seg_3", "emb:minilm:seg_4"], job="embed")
    assert _stale(g) == ([], [], []) and stale_assets(g) == []
    rebuilt = _bulk(g)
    assert _stale(rebuilt) == ([], [], []) and rebuilt.is_retired("run_e1")
    assert sorted(rebuilt.digraph.edges) == sorted(g.digraph.edges)


def test_a_running_or_failed_rerun_replaces_nothing_and_other_jobs_are_not_touched(make: Factory) -> None:
    g = _subtitle_story(make)
    make.derive(g, "run_e2", ["asset_sub"], [], job="embed", status="FAILED")
    make.derive(g, "run_x", ["asset_sub"], ["ann_1"], job="other")  # another job over the same input
    assert stale_runs(g) == ["run_e1"] == stale_runs(_bulk(g))
    assert not g.is_replaced("run_e1") and not g.is_replaced("run_x")
    make.derive(g, "run_e3", ["asset_sub"], ["emb:minilm:seg_3"], job="embed")
    assert stale_runs(g) == [] == stale_runs(_bulk(g))
    assert g.is_retired("run_e2") and _bulk(g).is_retired("run_e2")
    assert g.producer_of("ann_1") == "run_x"


def test_an_asset_output_still_produced_keeps_a_replaced_run_stale(make: Factory) -> None:
    g = LineageGraph(assets=[make.asset("asset_src")])
    make.derive(g, "run_1", ["asset_src"], ["asset_a", "seg_1"])
    g.upsert_assets([make.asset("asset_src", version=2)])
    make.derive(g, "run_2", ["asset_src"], ["asset_b"])  # same job, but asset_a was not made again
    assert g.is_replaced("run_1") and not g.is_retired("run_1")
    assert stale_assets(g) == ["asset_a"] == stale_assets(_bulk(g))
    assert stale_runs(g) == ["run_1"] == stale_runs(_bulk(g))


def test_every_problem_of_a_run_is_collected_once(make: Factory, pipeline: LineageGraph) -> None:
    run = make.run("run_9", [("asset_src", 7), "asset_nope", "asset_src"], ["asset_proxy"], status="DONE",
                   job=" ", started_at=make.run("x").ended_at, ended_at=make.run("y").started_at)
    problems = pipeline.run_problems(run)
    assert [(p.path, p.code) for p in problems] == [
        ("job.name", "INVALID_ARGUMENT"), ("status", "INVALID_ARGUMENT"), ("ended_at", "INVALID_ARGUMENT"),
        ("inputs", "INVALID_ARGUMENT"), ("inputs[0]", "INVALID_ARGUMENT"), ("inputs[1]", "NOT_FOUND"),
        ("outputs[0]", "CONFLICT"),
    ]
    assert problems[3] == Problem("inputs", "INVALID_ARGUMENT", "an input is listed twice")
    with pytest.raises(InvalidRunError, match="job.name is required; unknown status 'DONE'") as err:
        pipeline.check_run(run)
    assert err.value.problems == tuple(problems)
    with pytest.raises(UnknownEntityError, match="unknown input asset 'asset_nope'") as missing:
        pipeline.check_run(make.run("run_10", ["asset_nope"]))
    assert missing.value.code == "NOT_FOUND" and len(missing.value.problems) == 1
    pipeline.add_outputs("run_2", ["seg_1"])
    with pytest.raises(UnknownEntityError, match="unknown input asset 'seg_1'"):  # a node, but not an asset
        pipeline.check_run(make.run("run_11", ["seg_1"]))

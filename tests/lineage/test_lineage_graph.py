from __future__ import annotations

from datetime import timedelta

import pytest

from lineage import (
    CycleError,
    InvalidRunError,
    LineageGraph,
    SecondProducerError,
    UnknownEntityError,
)
from lineage.graph import CompactDiGraph


def _state(g: LineageGraph) -> tuple:
    return (
        sorted(g.digraph.nodes),
        sorted(g.digraph.edges),
        sorted((r.id, r) for r in g.runs()),
        g.jobs(),
        sorted((a.id, a) for a in g.assets()),
    )


def test_pipeline_shape(pipeline: LineageGraph) -> None:
    assert pipeline.producer_of("asset_f1") == "run_2"
    assert pipeline.producer_of("asset_src") is None
    assert pipeline.consumers_of("asset_proxy") == ["run_2"]
    assert (pipeline.run_count, pipeline.asset_count) == (4, 7)
    assert pipeline.node_count == 11
    assert pipeline.edge_count == 9


def test_unknown_input_is_rejected_and_nothing_changes(make, pipeline) -> None:
    before = _state(pipeline)
    run = make.run("run_9", ["asset_nope"], ["asset_x"])
    with pytest.raises(UnknownEntityError, match="asset_nope") as err:
        pipeline.add_run(run, [make.asset("asset_x", produced_by="run_9")])
    assert err.value.code == "NOT_FOUND"
    assert _state(pipeline) == before


def test_second_producer_is_rejected(make, pipeline) -> None:
    before = _state(pipeline)
    with pytest.raises(SecondProducerError, match="asset_proxy.*run_1") as err:
        pipeline.add_run(make.run("run_9", ["asset_src"], ["asset_proxy"]))
    assert err.value.code == "CONFLICT"
    assert _state(pipeline) == before


def test_cycle_is_rejected(make, pipeline) -> None:
    before = _state(pipeline)
    # asset_sub has no producer yet but is an ancestor of nothing; make it one first.
    make.derive(pipeline, "run_5", ["asset_sub"], ["asset_subfix"])
    before = _state(pipeline)
    # Writing asset_sub from something derived from it closes a loop.
    with pytest.raises(CycleError, match="asset_sub") as err:
        pipeline.add_run(make.run("run_9", ["asset_subfix"], ["asset_sub"]))
    assert err.value.code == "CYCLE"
    with pytest.raises(CycleError):
        pipeline.add_run(make.run("run_9", ["asset_src"], ["asset_src"]))
    assert _state(pipeline) == before


def test_end_before_start_and_bad_status_are_rejected(make, pipeline) -> None:
    before = _state(pipeline)
    t = make.run("run_x", ["asset_src"], []).started_at
    with pytest.raises(InvalidRunError, match="before") as err:
        pipeline.add_run(make.run("run_9", ["asset_src"], [], started_at=t, ended_at=t - timedelta(1)))
    assert err.value.code == "INVALID_ARGUMENT"
    with pytest.raises(InvalidRunError, match="DONE"):
        pipeline.add_run(make.run("run_9", ["asset_src"], [], status="DONE"))
    with pytest.raises(InvalidRunError, match="already exists"):
        pipeline.add_run(make.run("run_1", ["asset_src"], []))
    with pytest.raises(InvalidRunError, match="version 7"):
        pipeline.add_run(make.run("run_9", [("asset_src", 7)], []))
    assert _state(pipeline) == before


def test_output_may_be_an_existing_unproduced_asset(make, pipeline) -> None:
    # The OpenLineage path registers the asset first, then names it as an output.
    pipeline.upsert_assets([make.asset("asset_new", role="proxy")])
    pipeline.add_run(make.run("run_9", ["asset_src"], ["asset_new"]))
    assert pipeline.producer_of("asset_new") == "run_9"


def test_unregistered_output_asset_is_unknown(make, pipeline) -> None:
    with pytest.raises(UnknownEntityError, match="asset_ghost"):
        pipeline.add_run(make.run("run_9", ["asset_src"], ["asset_ghost"]))


def test_update_run_start_then_complete(make, pipeline) -> None:
    start = make.run("run_9", ["asset_src"], [], status="RUNNING", ended_at=None)
    pipeline.add_run(start)
    pipeline.upsert_assets([make.asset("asset_out", role="proxy")])
    done = make.run("run_9", ["asset_src"], ["asset_out"], status="COMPLETED")
    merged = pipeline.update_run(done)
    assert merged.status == "COMPLETED" and merged.outputs == ("asset_out",)
    assert merged.recorded_at == start.recorded_at
    assert pipeline.producer_of("asset_out") == "run_9"
    with pytest.raises(UnknownEntityError):
        pipeline.update_run(make.run("run_404", [], []))


def test_add_outputs_attaches_segments_and_embeddings(pipeline) -> None:
    run = pipeline.add_outputs("run_2", ["seg_1", "emb:clip:seg_1", "seg_1"])
    assert run.outputs == ("asset_f1", "asset_f2", "seg_1", "emb:clip:seg_1")
    assert pipeline.producer_of("emb:clip:seg_1") == "run_2"
    with pytest.raises(SecondProducerError):
        pipeline.add_outputs("run_3", ["seg_1"])
    with pytest.raises(UnknownEntityError):
        pipeline.add_outputs("run_404", ["seg_2"])


def test_idempotency_and_job_lookups(make, pipeline) -> None:
    make.derive(pipeline, "run_9", ["asset_src"], ["asset_k"], idempotency_key="k1")
    assert [r.id for r in pipeline.runs_for_key("k1")] == ["run_9"]
    assert pipeline.runs_for_key("k2") == []
    assert [j.name for j in pipeline.jobs()] == ["embed", "frames", "transcode"]
    job = pipeline.set_job_version("media", "embed", "2")
    assert pipeline.get_job("media", "embed") == job
    with pytest.raises(UnknownEntityError):
        pipeline.set_job_version("media", "nope", "2")


def test_bulk_build_equals_incremental_networkx(pipeline) -> None:
    rebuilt = LineageGraph(pipeline.jobs(), list(pipeline.runs()), list(pipeline.assets()))
    assert _state(rebuilt) == _state(pipeline)
    g = CompactDiGraph()
    g.add_edges_from(pipeline.digraph.edges)
    g.add_nodes_from(pipeline.digraph.nodes)
    assert dict(g.adjacency()) == dict(rebuilt.digraph.adjacency())
    with pytest.raises(TypeError):
        rebuilt.digraph.nodes["asset_src"]["x"] = 1

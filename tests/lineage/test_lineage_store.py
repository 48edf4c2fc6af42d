from __future__ import annotations

from datetime import timedelta

import pytest

from lineage import LineageGraph, UnknownEntityError, stale_assets
from lineage.model import InputRef
from lineage.service import Lineage
from lineage.store import LanceLineageStore, inputs_to_arrow, outputs_to_arrow
from tests.lineage.conftest import connect


def _snapshot(g: LineageGraph) -> tuple:
    return (
        sorted(g.digraph.nodes(data=True)),
        sorted(g.digraph.edges(data=True)),
        {r.id: r for r in g.runs()},
        g.jobs(),
    )


def _record(lineage: Lineage, make, assets: dict, run_id, inputs, outputs, **kw):
    """What recordRun does: validate, write the asset rows, then commit the run."""
    g = lineage.graph
    refs = [(i, g.asset(i).version) for i in inputs]
    run = make.run(run_id, refs, outputs, **kw)
    new = [make.asset(o, role="proxy", produced_by=run_id) for o in outputs if o.startswith("asset_")]
    lineage.check_run(run, new)
    assets.update({a.id: a for a in new})  # "the caller's assets table"
    return lineage.commit_run(run, None, new)


@pytest.fixture
def assets(make) -> dict:
    return {"asset_src": make.asset("asset_src"), "asset_sub": make.asset("asset_sub")}


def _open(db, assets) -> Lineage:
    return Lineage(LanceLineageStore(db), lambda: list(assets.values()), compact_every=3)


def test_reopening_rebuilds_an_identical_graph(lake_dir, make, assets) -> None:
    db = connect(lake_dir)
    first = _open(db, assets)
    _record(first, make, assets, "run_1", ["asset_src"], ["asset_proxy"], parameters={"crf": 18, "preset": "slow"})
    _record(first, make, assets, "run_2", ["asset_proxy", "asset_sub"], ["asset_f1", "asset_f2"], job="frames",
            idempotency_key="k-2", external_run_id="0b9e1c3e-7f0b-4c52-9d57-5f0e1d6e1a11")
    _record(first, make, assets, "run_3", ["asset_f1"], [], job="embed", status="RUNNING", ended_at=None,
            job_version=None)
    first.add_outputs("run_3", ["emb:clip:asset_f1", "seg_1"])
    first.set_job_version("media", "frames", "2")
    first.update_run(make.run("run_3", [("asset_f1", 1)], ["ann_1"], job="embed", job_version=None))

    again = _open(connect(lake_dir), assets)
    assert _snapshot(again.graph) == _snapshot(first.graph)
    assert again.graph.get_run("run_3").outputs == ("emb:clip:asset_f1", "seg_1", "ann_1")
    assert again.graph.get_run("run_3").status == "COMPLETED"
    assert again.graph.get_run("run_1").parameters == {"crf": 18, "preset": "slow"}
    assert again.graph.get_job("media", "frames").version == "2"
    assert stale_assets(again.graph) == ["asset_f1", "asset_f2"]


def test_stale_of_answers_is_stale_for_a_batch(db, make, assets) -> None:
    lineage = _open(db, assets)
    _record(lineage, make, assets, "run_1", ["asset_src"], ["asset_proxy"])
    _record(lineage, make, assets, "run_2", ["asset_proxy"], ["asset_f1", "asset_f2"], job="frames")
    lineage.set_job_version("media", "frames", "2")
    asked = ["asset_f2", "asset_src", "asset_proxy", "asset_f1", "asset_f1", "asset_unknown"]
    assert lineage.stale_of(asked) == {a for a in asked if lineage.is_stale(a)} == {"asset_f1", "asset_f2"}
    assert lineage.stale_of([]) == frozenset()


def test_orphan_edges_are_invisible_and_swept(db, make, assets) -> None:
    lineage = _open(db, assets)
    _record(lineage, make, assets, "run_1", ["asset_src"], ["asset_proxy"])
    store = LanceLineageStore(db)
    # A writer that crashed after its edge commits and before its runs row.
    store.table("run_inputs").add(inputs_to_arrow([("run_dead", 0, InputRef("asset_src", 1))]))
    store.table("run_outputs").add(outputs_to_arrow([("run_dead", 0, "asset_orphan")]))
    jobs, runs = store.load()
    assert [r.id for r in runs] == ["run_1"]
    assert store.sweep_orphans() == 0  # too young: its writer might still commit
    assert store.sweep_orphans(older_than=timedelta(0)) == 2
    assert store.table("run_inputs").count_rows() == 1
    assert store.table("run_outputs").count_rows() == 1


def test_second_process_sees_writes_through_refresh(db, lake_dir, make, assets) -> None:
    a = _open(db, assets)
    b = _open(connect(lake_dir), assets)
    assert not b.refresh()
    _record(a, make, assets, "run_1", ["asset_src"], ["asset_proxy"])
    assert not a.refresh()  # its own write is already in its graph
    assert b.graph.get_run("run_1") is None
    assert b.refresh()
    assert b.graph.producer_of("asset_proxy") == "run_1"
    assert not b.refresh()
    b.set_job_version("media", "transcode", "9")
    assert a.refresh() and a.graph.get_job("media", "transcode").version == "9"


def test_rejected_run_writes_nothing(db, make, assets) -> None:
    lineage = _open(db, assets)
    before = lineage._store.table_versions()
    with pytest.raises(UnknownEntityError, match="asset_missing"):
        lineage.commit_run(make.run("run_1", ["asset_src", "asset_missing"], []))
    assert lineage._store.table_versions() == before


def test_idempotency_key_returns_the_first_run(db, make, assets) -> None:
    lineage = _open(db, assets)
    first = _record(lineage, make, assets, "run_1", ["asset_src"], ["asset_p"], idempotency_key="same")
    retry = lineage.commit_run(make.run("run_2", ["asset_src"], [], idempotency_key="same"))
    assert retry == first and lineage.graph.get_run("run_2") is None

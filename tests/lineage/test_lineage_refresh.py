"""A second process catches up with the first by reading only the rows committed since."""

from __future__ import annotations

import lancedb

from lineage.model import InputRef
from lineage.service import Lineage
from lineage.store import LanceLineageStore, inputs_to_arrow, outputs_to_arrow, runs_to_arrow


def _snapshot(lineage: Lineage) -> tuple:
    g = lineage.graph
    return (
        sorted(g.digraph.edges),
        sorted(g.digraph.nodes),
        sorted((r.id, r) for r in g.runs()),
        g.jobs(),
        sorted(g._stale_job | g._stale_input),
    )


def _open(path, assets, compact_every: int = 0) -> Lineage:
    return Lineage(LanceLineageStore(lancedb.connect(str(path))), lambda: list(assets.values()),
                   compact_every=compact_every)


def _record(lineage: Lineage, make, assets, run_id, inputs, outputs, **kw):
    refs = [(i, assets[i].version) for i in inputs]
    run = make.run(run_id, refs, outputs, **kw)
    new = [make.asset(o, role="proxy", produced_by=run_id) for o in outputs if o.startswith("asset_")]
    lineage.check_run(run, new)
    assets.update({a.id: a for a in new})
    return lineage.commit_run(run, None, new)


def _fresh_equals(path, assets, lineage: Lineage) -> None:
    assert _snapshot(_open(path, assets)) == _snapshot(lineage)


def test_refresh_reads_new_runs_updates_and_outputs_without_a_rebuild(tmp_path, make) -> None:
    path = tmp_path / "lake"
    assets = {"asset_src": make.asset("asset_src")}
    a, b = _open(path, assets), _open(path, assets)
    _record(a, make, assets, "run_1", ["asset_src"], ["asset_proxy"])
    _record(a, make, assets, "run_2", ["asset_proxy"], [], job="embed", status="RUNNING", ended_at=None)
    assert b.refresh()
    _fresh_equals(path, assets, b)
    a.add_outputs("run_2", ["emb:clip:asset_proxy"])
    a.update_run(make.run("run_2", [("asset_proxy", 1)], ["seg_1"], job="embed", status="COMPLETED"))
    a.set_job_version("media", "transcode", "2")
    assert b.refresh() and not b.refresh()
    assert b.graph.get_run("run_2").outputs == ("emb:clip:asset_proxy", "seg_1")
    assert b.graph.get_run("run_2").status == "COMPLETED"
    assert b.graph.get_job("media", "transcode").version == "2"
    _fresh_equals(path, assets, b)
    assert b.rebuilds == 1


def test_refresh_sees_a_new_version_derived_elsewhere(tmp_path, make) -> None:
    path = tmp_path / "lake"
    assets = {"asset_src": make.asset("asset_src")}
    a, b = _open(path, assets), _open(path, assets)
    _record(a, make, assets, "run_1", ["asset_src"], ["asset_proxy"])
    b.refresh()
    again = make.run("run_2", [("asset_src", 1)], ["asset_proxy"])
    v2 = make.asset("asset_proxy", version=2, role="proxy", produced_by="run_2")
    a.check_run(again, [v2])
    assets["asset_proxy"] = v2
    a.commit_run(again, None, [v2])
    assert b.refresh()
    assert b.graph.producer_of("asset_proxy") == "run_2"
    _fresh_equals(path, assets, b)
    assert b.rebuilds == 1


def test_edges_committed_before_their_run_row_wait_for_it(tmp_path, make) -> None:
    path = tmp_path / "lake"
    assets = {"asset_src": make.asset("asset_src"), "asset_out": make.asset("asset_out")}
    a, b = _open(path, assets), _open(path, assets)
    store = LanceLineageStore(lancedb.connect(str(path)))
    store.table("run_inputs").add(inputs_to_arrow([("run_late", 0, InputRef("asset_src", 1))]))
    store.table("run_outputs").add(outputs_to_arrow([("run_late", 0, "asset_out")]))
    assert b.refresh() and b.graph.get_run("run_late") is None and "run_late" not in b.graph
    store.table("runs").add(runs_to_arrow([make.run("run_late", ["asset_src"], ["asset_out"])]))
    assert b.refresh()
    assert b.graph.producer_of("asset_out") == "run_late"
    assert b.graph.get_run("run_late").inputs == (InputRef("asset_src", 1),)
    _fresh_equals(path, assets, b)
    del a


def test_refresh_after_another_process_compacted(tmp_path, make) -> None:
    path = tmp_path / "lake"
    assets = {"asset_src": make.asset("asset_src")}
    a, b = _open(path, assets, compact_every=2), _open(path, assets)
    for n in range(5):
        _record(a, make, assets, f"run_{n}", ["asset_src"], [f"asset_p{n}"])
    assert b.refresh()
    _fresh_equals(path, assets, b)
    _record(b, make, assets, "run_b", ["asset_p1"], ["asset_q"])
    assert a.refresh() and a.graph.producer_of("asset_q") == "run_b"
    _fresh_equals(path, assets, a)

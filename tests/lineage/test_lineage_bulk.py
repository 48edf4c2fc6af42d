"""The bulk-loaded (columnar) graph behaves as the one built from records, and staleness
kept as a set of directly stale runs agrees with its definition after every kind of write."""

from __future__ import annotations

import random

import pytest

from lineage import Job, LineageGraph, recompute_plan, stale_assets, stale_runs
from lineage.model import InputRef
from lineage.staleness import is_stale
from lineage.store import inputs_to_arrow, jobs_to_arrow, outputs_to_arrow, runs_to_arrow


def _state(g: LineageGraph) -> tuple:
    return (
        sorted(g.digraph.nodes),
        sorted(g.digraph.edges),
        sorted((r.id, r) for r in g.runs()),
        g.jobs(),
        sorted((a.id, a) for a in g.assets()),
    )


def _from_tables(g: LineageGraph, extra_inputs=(), extra_outputs=()) -> LineageGraph:
    runs = list(g.runs())
    ins = inputs_to_arrow([(r.id, i, ref) for r in runs for i, ref in enumerate(r.inputs)] + list(extra_inputs))
    outs = outputs_to_arrow([(r.id, i, o) for r in runs for i, o in enumerate(r.outputs)] + list(extra_outputs))
    return LineageGraph.from_tables(g.jobs(), runs_to_arrow(runs), ins, outs, list(g.assets()))


def _reference_stale(g: LineageGraph) -> set[str]:
    """Staleness straight from its definition, by recursion over runs."""
    memo: dict[str, bool] = {}

    def run_stale(rid: str) -> bool:
        if rid not in memo:
            run = g.get_run(rid)
            job = g.get_job(run.namespace, run.job_name)
            stale = job is not None and job.version != run.job_version
            for ref in run.inputs:
                info = g.asset(ref.asset_id)
                if info is not None and info.version > ref.version:
                    stale = True
                p = g.producer_of(ref.asset_id)
                if p is not None and run_stale(p):
                    stale = True
            memo[rid] = stale
        return memo[rid]

    out = set()
    for run in g.runs():
        if run_stale(run.id):
            out.add(run.id)
            out.update(o for o in g.digraph.successors(run.id))
    return out


def _random_pipeline(make, seed: int) -> LineageGraph:
    rng = random.Random(seed)
    g = LineageGraph(assets=[make.asset(f"asset_s{i}") for i in range(5)])
    pool = [f"asset_s{i}" for i in range(5)]
    for n in range(60):
        inputs = rng.sample(pool, k=min(len(pool), rng.choice([1, 1, 1, 2, 3])))
        outputs = [f"asset_d{n}_{k}" for k in range(rng.choice([1, 1, 2, 4]))]
        if rng.random() < 0.2:
            outputs.append(f"ann_{n}")
        make.derive(g, f"run_{n:03d}", inputs, outputs, job=rng.choice(["a", "b", "c"]),
                    parameters=rng.choice([None, {"crf": 18}, {"fps": 1}]),
                    idempotency_key=rng.choice([None, None, f"k{n % 7}"]))
        pool.extend(o for o in outputs if o.startswith("asset_"))
    return g


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_graph_built_from_tables_equals_one_built_from_records(make, seed) -> None:
    g = _random_pipeline(make, seed)
    rng = random.Random(seed)
    for aid in rng.sample(sorted(g.asset_ids()), 4):
        info = g.asset(aid)
        g.upsert_assets([make.asset(aid, version=info.version + 1, role=info.role,
                                    produced_by=info.produced_by)])
    g.set_job_version("media", "b", "2")
    # a retried write repeats an ordinal; a crashed writer left edges without a runs row
    first = next(iter(g.runs()))
    loaded = _from_tables(
        g,
        extra_inputs=[(first.id, 0, first.inputs[0]), ("run_dead", 0, InputRef("asset_s0", 1))],
        extra_outputs=[("run_dead", 0, "asset_orphan")],
    )
    assert _state(loaded) == _state(g)
    assert "asset_orphan" not in loaded
    assert stale_assets(loaded) == stale_assets(g)
    assert set(stale_runs(loaded)) | set(stale_assets(loaded)) <= _reference_stale(loaded)
    for root in sorted(g.asset_ids())[:20]:
        assert stale_assets(loaded, root) == stale_assets(g, root)
        assert recompute_plan(loaded, [root]) == recompute_plan(g, [root])
    assert recompute_plan(loaded) == recompute_plan(g)
    assert [r.id for r in loaded.runs_for_key("k3")] == [r.id for r in g.runs_for_key("k3")]


@pytest.mark.parametrize("seed", [4, 5])
def test_staleness_follows_every_write_on_a_loaded_graph(make, seed) -> None:
    rng = random.Random(seed)
    g = _from_tables(_random_pipeline(make, seed))
    for step in range(40):
        action = rng.choice(["version", "job", "run", "update", "outputs"])
        assets = sorted(g.asset_ids())
        if action == "version":
            info = g.asset(rng.choice(assets))
            g.upsert_assets([make.asset(info.id, version=info.version + 1, role=info.role,
                                        produced_by=info.produced_by)])
        elif action == "job":
            g.set_job_version("media", rng.choice(["a", "b", "c"]), rng.choice(["1", "2", "3"]))
        elif action == "run":
            make.derive(g, f"run_new{step}", rng.sample(assets, 2), [f"asset_new{step}"],
                        job=rng.choice(["a", "b"]), job_version=g.get_job("media", "a").version)
        elif action == "update":
            run = g.get_run(rng.choice(sorted(r.id for r in g.runs())))
            g.update_run(make.run(run.id, [(r.asset_id, r.version) for r in run.inputs], run.outputs,
                                  job=run.job_name, job_version="3", status="FAILED"))
        else:
            g.add_outputs(rng.choice(sorted(r.id for r in g.runs())), [f"seg_{step}"])
        expected = _reference_stale(g)
        assert set(stale_runs(g)) == {n for n in expected if n.startswith("run_")}
        assert stale_assets(g) == sorted(g.asset_ids() & expected)
        for root in rng.sample(sorted(g.asset_ids()), 5):
            below = {root} | set(__import__("networkx").descendants(g.digraph, root))
            assert stale_assets(g, root) == sorted(g.asset_ids() & expected & below)
            assert is_stale(g, root) == (root in expected)
    assert _state(_from_tables(g)) == _state(g)


def test_a_loaded_graph_takes_a_new_version_from_its_new_producer(make) -> None:
    g = LineageGraph(assets=[make.asset("asset_src")])
    make.derive(g, "run_1", ["asset_src"], ["asset_p"])
    loaded = _from_tables(g)
    rerun = make.run("run_2", ["asset_src"], ["asset_p"])
    loaded.add_run(rerun, [make.asset("asset_p", version=2, role="proxy", produced_by="run_2")])
    assert loaded.producer_of("asset_p") == "run_2"
    assert sorted(loaded.digraph.edges) == [("asset_src", "run_1"), ("asset_src", "run_2"), ("run_2", "asset_p")]
    assert _state(_from_tables(loaded)) == _state(loaded)


def test_jobs_table_round_trips(make) -> None:
    jobs = [Job("media", "a", "1"), Job("media", "b", None)]
    assert jobs_to_arrow(jobs).num_rows == 2
    g = LineageGraph.from_tables(jobs, runs_to_arrow([]), inputs_to_arrow([]), outputs_to_arrow([]), [])
    assert g.jobs() == jobs and g.run_count == 0 and g.node_count == 0


@pytest.mark.parametrize("seed", [6, 7])
def test_traversals_of_a_loaded_graph_match_after_writes(make, seed, monkeypatch) -> None:
    import lineage.traversal
    from lineage import traverse

    monkeypatch.setattr(lineage.traversal, "INDEX_ABOVE", 0)  # the index's walk even for small answers
    g = _random_pipeline(make, seed)
    loaded = _from_tables(g)
    for graph in (g, loaded):  # the same writes on both: new nodes, new edges, a new version
        make.derive(graph, "run_w1", ["asset_s1", "asset_d3_0"], ["asset_w1", "seg_w1"])
        graph.add_outputs("run_005", ["emb:x:asset_s1"])
        graph.add_run(make.run("run_w2", ["asset_s0"], ["asset_w1"]),
                      [make.asset("asset_w1", version=2, role="proxy", produced_by="run_w2")])
    nodes = sorted(g.digraph.nodes)
    assert nodes == sorted(loaded.digraph.nodes)
    for root in nodes:
        for direction in ("DOWNSTREAM", "UPSTREAM", "BOTH"):
            for depth, limit in ((10, 1000), (2, 1000), (10, 5)):
                assert traverse(loaded, root, direction, depth, limit) == traverse(g, root, direction, depth, limit)
        assert stale_assets(loaded, root) == stale_assets(g, root)

from __future__ import annotations

from datetime import timedelta

import pytest

from lineage import (
    LimitExceededError,
    Limits,
    LineageGraph,
    UnknownEntityError,
    as_of,
    impact,
    impact_groups,
    is_stale,
    provenance,
    recompute_plan,
    sources,
    stale_assets,
    stale_reasons,
    traverse,
)


def test_downstream_degrees_and_order(pipeline: LineageGraph) -> None:
    t = traverse(pipeline, "asset_src", "DOWNSTREAM", max_depth=10, limit=100)
    assert t.nodes == [
        ("asset_src", 0),
        ("run_1", 1),
        ("asset_proxy", 2),
        ("run_2", 3),
        ("asset_f1", 4),
        ("asset_f2", 4),
        ("run_3", 5),
        ("run_4", 5),
        ("asset_e1", 6),
        ("asset_e2", 6),
    ]
    assert t.edges[:3] == [("asset_src", "run_1"), ("run_1", "asset_proxy"), ("asset_proxy", "run_2")]
    assert len(t.edges) == 9
    assert not t.is_partial


def test_upstream_and_both(pipeline: LineageGraph) -> None:
    up = traverse(pipeline, "asset_e2", "UPSTREAM", max_depth=10, limit=100)
    assert [n for n, _ in up.nodes] == ["asset_e2", "run_4", "asset_f2", "run_2", "asset_proxy", "run_1", "asset_src"]
    both = traverse(pipeline, "asset_f1", "BOTH", max_depth=2, limit=100)
    assert both.nodes == [("asset_f1", 0), ("run_2", 1), ("run_3", 1), ("asset_e1", 2), ("asset_f2", 2), ("asset_proxy", 2)]
    assert both.is_partial  # run_1 and run_4 lie beyond depth 2


def test_depth_and_limit_cut_is_partial(pipeline: LineageGraph) -> None:
    t = traverse(pipeline, "asset_src", "DOWNSTREAM", max_depth=2, limit=100)
    assert [n for n, _ in t.nodes] == ["asset_src", "run_1", "asset_proxy"] and t.is_partial
    t = traverse(pipeline, "asset_src", "DOWNSTREAM", max_depth=10, limit=5)
    assert [n for n, _ in t.nodes] == ["asset_src", "run_1", "asset_proxy", "run_2", "asset_f1"]
    assert t.is_partial
    assert ("run_2", "asset_f2") not in t.edges
    exact = traverse(pipeline, "asset_e1", "DOWNSTREAM", max_depth=0, limit=1)
    assert exact.nodes == [("asset_e1", 0)] and not exact.is_partial


def test_limits_and_unknown_root(pipeline: LineageGraph) -> None:
    with pytest.raises(LimitExceededError, match="maxDepth 51") as err:
        traverse(pipeline, "asset_src", "BOTH", max_depth=51, limit=10)
    assert err.value.code == "INVALID_ARGUMENT"
    with pytest.raises(LimitExceededError, match="limit 11"):
        traverse(pipeline, "asset_src", "BOTH", max_depth=1, limit=11, limits=Limits(max_nodes=10))
    with pytest.raises(UnknownEntityError, match="asset_nope"):
        traverse(pipeline, "asset_nope", "BOTH", max_depth=1, limit=10)


def test_provenance_is_a_replayable_recipe_in_topological_order(make, pipeline) -> None:
    # A second input joins: the audio stem is made from the source in parallel.
    make.derive(pipeline, "run_0a", ["asset_src"], ["asset_audio"], role="audio-stem", job="stems")
    make.derive(pipeline, "run_5", ["asset_e1", "asset_audio"], ["asset_mix"], role="mix", job="mix",
                parameters={"gain": -3})
    steps = provenance(pipeline, "asset_mix")
    assert [s.run_id for s in steps] == ["run_0a", "run_1", "run_2", "run_3", "run_5"]
    last = steps[-1]
    assert (last.job_namespace, last.job_name, last.job_version) == ("media", "mix", "1")
    assert last.parameters == {"gain": -3}
    assert [(i.asset_id, i.version) for i in last.inputs] == [("asset_e1", 1), ("asset_audio", 1)]
    assert sources(pipeline, "asset_mix") == ["asset_src"]
    assert provenance(pipeline, "asset_src") == []


def test_impact_sorted_and_grouped(make, pipeline) -> None:
    make.derive(pipeline, "run_6", ["asset_src"], ["asset_b"], role="proxy", title_id="title_0")
    infos = impact(pipeline, "asset_src")
    assert [(a.title_id, a.role, a.id) for a in infos] == [
        ("title_0", "proxy", "asset_b"),
        ("title_a", "embedding", "asset_e1"),
        ("title_a", "embedding", "asset_e2"),
        ("title_a", "frame", "asset_f1"),
        ("title_a", "frame", "asset_f2"),
        ("title_a", "proxy", "asset_proxy"),
    ]
    groups = impact_groups(pipeline, "asset_src")
    assert [(g.title_id, g.role, len(g.assets)) for g in groups] == [
        ("title_0", "proxy", 1),
        ("title_a", "embedding", 2),
        ("title_a", "frame", 2),
        ("title_a", "proxy", 1),
    ]


def test_new_input_version_makes_every_derivative_stale(make, pipeline) -> None:
    assert stale_assets(pipeline) == []
    pipeline.upsert_assets([make.asset("asset_src", version=2)])
    derived = ["asset_e1", "asset_e2", "asset_f1", "asset_f2", "asset_proxy"]
    assert stale_assets(pipeline) == derived
    assert stale_assets(pipeline, "asset_src") == derived
    assert stale_assets(pipeline, "asset_f2") == ["asset_e2", "asset_f2"]
    assert not is_stale(pipeline, "asset_src")
    assert is_stale(pipeline, "asset_e2")
    assert stale_reasons(pipeline, "asset_proxy") == [
        "input asset_src is at version 2, run run_1 used version 1"
    ]
    assert stale_reasons(pipeline, "asset_e1") == [
        "upstream: input asset_src is at version 2, run run_1 used version 1"
    ]
    assert recompute_plan(pipeline) == ["run_1", "run_2", "run_3", "run_4"]
    assert recompute_plan(pipeline, ["asset_e2"]) == ["run_1", "run_2", "run_4"]


def test_new_job_version_makes_its_outputs_and_descendants_stale(pipeline) -> None:
    pipeline.set_job_version("media", "frames", "2")
    assert stale_assets(pipeline) == ["asset_e1", "asset_e2", "asset_f1", "asset_f2"]
    assert stale_reasons(pipeline, "asset_f1") == [
        "job media/frames is at version 2, run run_2 executed 1"
    ]
    assert not is_stale(pipeline, "asset_proxy")
    assert recompute_plan(pipeline) == ["run_2", "run_3", "run_4"]


def test_stale_mid_pipeline_input(make, pipeline) -> None:
    # The proxy itself is re-rendered in place (version 2): frames and below go stale.
    pipeline.upsert_assets([make.asset("asset_proxy", version=2, role="proxy", produced_by="run_1")])
    assert stale_assets(pipeline, "asset_src") == ["asset_e1", "asset_e2", "asset_f1", "asset_f2"]
    assert is_stale(pipeline, "run_3") and not is_stale(pipeline, "run_1")
    assert recompute_plan(pipeline, ["asset_e1"]) == ["run_2", "run_3"]


def test_segments_and_embeddings_follow_their_run(make, pipeline) -> None:
    pipeline.add_outputs("run_3", ["seg_1", "emb:clip:seg_1"])
    pipeline.upsert_assets([make.asset("asset_src", version=2)])
    assert is_stale(pipeline, "emb:clip:seg_1")
    assert "emb:clip:seg_1" not in stale_assets(pipeline)  # assets only


def test_as_of_ignores_later_runs_and_assets(make, pipeline) -> None:
    cut = pipeline.get_run("run_2").recorded_at
    late = cut + timedelta(days=1)
    pipeline.upsert_assets([make.asset("asset_late", created_at=late)])
    past = as_of(pipeline, cut)
    assert sorted(r.id for r in past.runs()) == ["run_1", "run_2"]
    assert "asset_e1" not in past and "asset_late" not in past and "asset_f2" in past
    assert [s.run_id for s in provenance(past, "asset_f1")] == ["run_1", "run_2"]
    assert pipeline.get_run("run_4") is not None  # the live graph is untouched


def test_subtree_staleness_follows_inputs_from_elsewhere_and_deeper_levels(make, pipeline) -> None:
    make.derive(pipeline, "run_6", ["asset_sub"], ["asset_subp"], role="subtitle")
    make.derive(pipeline, "run_7", ["asset_f1", "asset_subp"], ["asset_burnin"], role="burn-in")
    # run_8 reads the proxy (level 2) and an embedding (level 6) below it.
    make.derive(pipeline, "run_8", ["asset_proxy", "asset_e1"], ["asset_report"], role="report")
    assert stale_assets(pipeline, "asset_src") == []
    pipeline.upsert_assets([make.asset("asset_sub", version=2, role="subtitle")])
    assert stale_assets(pipeline, "asset_src") == ["asset_burnin"]
    pipeline.set_job_version("media", "embed", "2")
    assert stale_assets(pipeline, "asset_src") == ["asset_burnin", "asset_e1", "asset_e2", "asset_report"]
    assert stale_assets(pipeline, "asset_src") == [
        a for a in stale_assets(pipeline) if a not in ("asset_subp",)
    ]

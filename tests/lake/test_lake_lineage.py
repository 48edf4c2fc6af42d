"""The lake's lineage on a real lake: crash visibility, sweeping, re-derivation across a reopen."""
from __future__ import annotations

from datetime import timedelta

from graph_api.lake import Lake
from graph_api.lake.lineage import open_lineage
from graph_api.settings import Settings
from tests.conftest import asset_input, checksum, make_assets, make_title

SETTINGS = Settings.load(env={})


def test_assets_of_a_run_that_never_committed_are_invisible_and_swept(lake: Lake) -> None:
    lineage = open_lineage(lake, SETTINGS)
    title = make_title(lake)
    source = make_assets(lake, title["id"])[0]
    # a writer crashed after committing its output rows and before its runs row
    prepared = lake.assets.prepare([asset_input(title["id"], role="proxy")], produced_by="run_crashed")
    lake.assets.write(prepared)
    orphan = prepared.results[0]["id"]
    assert lake.assets.get(orphan) is None
    assert lake.assets.list(title_ids=[title["id"]]).column("id").to_pylist() == [source["id"]]
    assert lineage.sweep(older_than=timedelta(0))["assets"] == 1
    assert lake.table("assets").count_rows(f"id = '{orphan}'") == 0


def test_a_rederived_asset_keeps_its_new_producer_after_a_reopen(lake_dir: str) -> None:
    lake = Lake(lake_dir)
    lineage = open_lineage(lake, SETTINGS)
    title = make_title(lake)
    src = lake.assets.register([asset_input(title["id"], external_id="src", checksum=checksum("1"))])[0]
    lineage.note_assets([src])
    out = asset_input(title["id"], role="proxy", external_id="proxy-of-src")
    job = {"namespace": "t", "name": "proxy", "version": "1"}
    first = lineage.record_run({"job": job, "inputs": [src["id"]], "outputs": [out]}).run
    lineage.note_assets(lake.assets.register([asset_input(title["id"], external_id="src", checksum=checksum("2"))]))
    second = lineage.record_run({"job": job, "inputs": [src["id"]], "outputs": [{**out, "checksum": checksum("p2")}]}).run
    proxy = first.outputs[0]
    assert second.outputs == (proxy,)
    assert lineage.service.graph.producer_of(proxy) == second.id
    assert not lineage.is_stale(proxy)
    reopened = open_lineage(Lake(lake_dir), SETTINGS)
    assert reopened.service.graph.producer_of(proxy) == second.id
    assert sorted(reopened.service.graph.digraph.edges()) == sorted(lineage.service.graph.digraph.edges())
    assert not reopened.is_stale(proxy)


def test_lineage_starts_with_only_the_assets_runs_touched_and_answers_for_the_rest(lake_dir: str) -> None:
    lake = Lake(lake_dir)
    title = make_title(lake)
    used, untouched = make_assets(lake, title["id"], 2)
    lineage = open_lineage(lake, SETTINGS)
    lineage.record_run({"job": {"namespace": "t", "name": "proxy"}, "inputs": [used["id"]],
                        "outputs": [asset_input(title["id"], role="proxy")]})
    reopened = open_lineage(Lake(lake_dir), SETTINGS)
    graph = reopened.service.graph
    assert used["id"] in graph and untouched["id"] not in graph
    alone = reopened.traverse(untouched["id"], "BOTH", 5, 100)
    assert alone.nodes == [(untouched["id"], 0)] and alone.edges == []
    assert reopened.stale_assets(untouched["id"]) == []
    # a run reading the untouched asset brings it into the graph
    reopened.record_run({"job": {"namespace": "t", "name": "proxy"}, "inputs": [untouched["id"]], "outputs": []})
    assert untouched["id"] in reopened.service.graph


def test_a_rebuild_keeps_derived_assets_in_the_graph(lake: Lake) -> None:
    # a rebuild (after another process compacted the lineage tables) starts from an empty graph:
    # the asset feed must not read through that graph's run rule, or every derived asset vanishes
    lineage = open_lineage(lake, SETTINGS)
    title = make_title(lake)
    src = lake.assets.register([asset_input(title["id"], external_id="src")])[0]
    lineage.note_assets([src])
    job = {"namespace": "t", "name": "proxy", "version": "1"}
    run = lineage.record_run({"job": job, "inputs": [src["id"]],
                              "outputs": [asset_input(title["id"], role="proxy", external_id="p")]}).run
    proxy = run.outputs[0]
    groups = lineage.impact_groups(src["id"])  # grouped by the title and role lineage knows of each asset
    assert [(t, role) for t, role, _ in groups] == [(title["id"], "proxy")]
    lineage.service.rebuild()
    assert lineage.impact_groups(src["id"]) == groups
    assert lineage.lake.assets.get(proxy) is not None


def test_refresh_takes_another_writers_new_version_beside_its_own_noted_writes(lake_dir: str) -> None:
    """Refresh turns only rows lineage does not hold into objects; another writer's new version is one of them."""
    lake, other = Lake(lake_dir), Lake(lake_dir, read_consistency_seconds=0)
    lineage = open_lineage(lake, SETTINGS)
    title = make_title(lake)
    src = lake.assets.register([asset_input(title["id"], external_id="src", checksum=checksum("1"))])[0]
    lineage.note_assets([src])
    run = lineage.record_run({"job": {"namespace": "t", "name": "proxy"}, "inputs": [src["id"]],
                              "outputs": [asset_input(title["id"], role="proxy")]}).run
    # this process's own writes, noted as they were made, then another writer's re-delivery of the source
    lineage.note_assets(lake.assets.register([asset_input(title["id"], external_id=f"own-{i}") for i in range(3)]))
    again = other.assets.register([asset_input(title["id"], external_id="src", checksum=checksum("2"))])[0]
    assert again["id"] == src["id"] and again["version"] == 2
    lineage.refresh()
    assert lineage.service.asset_versions([src["id"]]) == [2]
    assert lineage.is_stale(run.outputs[0])

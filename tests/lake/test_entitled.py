"""A token's access on the lake read path: restriction is inherited, grants cover what is under
them, search is not short, runs and lineage through hidden titles are hidden or redacted."""
from __future__ import annotations

from typing import Any

import pytest

from graph_api.errors import MediaGraphError
from graph_api.lake import Lake
from graph_api.lake.access import EVERYTHING, Access, access_for
from graph_api.lake.lineage import LakeLineage, open_lineage
from graph_api.lake.lineage_view import LineageView, is_redacted
from graph_api.lake.tokens import Principal
from graph_api.settings import Settings
from lineage.errors import UnknownEntityError
from lineage.openlineage import uri_dataset
from tests.conftest import asset_input, make_assets, make_title

SETTINGS = Settings.load(env={})


def reader(*granted: str) -> Access:
    return access_for(Principal(name="reader", scopes=frozenset({"read"}), title_ids=frozenset(granted)))


@pytest.fixture
def family(lake: Lake) -> dict[str, Any]:
    series = make_title(lake, name="Series", kind="SERIES", restricted=True)
    episode = make_title(lake, name="Episode", kind="EPISODE", parent_id=series["id"])
    movie = make_title(lake, name="Movie")
    return {"series": series["id"], "episode": episode["id"], "movie": movie["id"],
            "episode_asset": make_assets(lake, episode["id"])[0]["id"], "movie_asset": make_assets(lake, movie["id"])[0]["id"]}


def _names(view: Any) -> list[str]:
    return view.titles.list().column("name").to_pylist()


def test_an_episode_of_a_restricted_series_is_restricted(lake: Lake, family: dict[str, Any]) -> None:
    view = lake.with_access(reader())
    assert _names(view) == ["Movie"]
    assert view.assets.get(family["episode_asset"]) is None
    assert view.assets.list().column("title_id").to_pylist() == [family["movie"]]


def test_a_grant_of_the_series_covers_its_episodes(lake: Lake, family: dict[str, Any]) -> None:
    view = lake.with_access(reader(family["series"]))
    assert _names(view) == ["Episode", "Movie", "Series"]
    assert view.assets.get(family["episode_asset"]) is not None


def test_a_grant_of_an_episode_shows_the_episode_only(lake: Lake, family: dict[str, Any]) -> None:
    view = lake.with_access(reader(family["episode"]))
    assert _names(view) == ["Episode", "Movie"]


def test_all_titles_is_unlimited_and_a_new_restricted_title_is_hidden_at_once(lake: Lake,
                                                                            family: dict[str, Any]) -> None:
    everyone = Principal(name="admin", scopes=frozenset({"read"}), all_titles=True)
    assert access_for(everyone) is EVERYTHING
    view = lake.with_access(reader())
    assert _names(view) == ["Movie"]
    make_title(lake, name="Later", restricted=True)
    make_title(lake, name="Later episode", parent_id=lake.titles.list(search="Later").column("id")[0].as_py())
    assert _names(view) == ["Movie"]  # the hidden set follows the titles table's version


def test_a_narrowed_access_still_hides_restricted_titles(lake: Lake, family: dict[str, Any]) -> None:
    view = lake.with_access(Access(title_ids=frozenset({family["episode"], family["movie"]}), restricted=False))
    assert _names(view) == ["Movie"]


def test_search_under_the_rule_is_not_short(lake: Lake, family: dict[str, Any]) -> None:
    """Restricted segments rank first for everyone who may see them; a reader who may not still gets
    its `first` hits, because the rule is a prefilter, not a filter of the ranked page."""
    secret = [{"asset_id": family["episode_asset"], "kind": "DIALOGUE", "start": float(i), "end": i + 1.0,
               "text": "harbour harbour harbour ship"} for i in range(20)]
    public = [{"asset_id": family["movie_asset"], "kind": "DIALOGUE", "start": float(i), "end": i + 1.0,
               "text": f"a ship near the harbour, line {i}"} for i in range(5)]
    rows = lake.segments.add(secret + public)
    lake.embeddings.upsert("clip", "m", [{"subject_id": r["id"], "vector": [1.0, 0.01 * i] if i < 20 else
                                          [0.5, 0.5 + 0.01 * i]} for i, r in enumerate(rows)])
    view = lake.with_access(reader())
    for hits in (view.search.text("harbour", first=5), view.search.vector("clip", [1.0, 0.0], first=5)):
        assert hits.num_rows == 5
        assert set(hits.column("title_id").to_pylist()) == {family["movie"]}
    assert set(lake.search.text("harbour", first=5).column("title_id").to_pylist()) == {family["episode"]}


@pytest.fixture
def crossing(lake: Lake, family: dict[str, Any]) -> dict[str, Any]:
    """movie source -> run into the episode -> episode proxy -> run out of it -> movie trailer."""
    lineage = open_lineage(lake, SETTINGS)
    movie_source = lineage.lake.assets.get(family["movie_asset"])
    lineage.note_assets([movie_source])
    into = lineage.record_run({"job": {"namespace": "t", "name": "proxy"}, "inputs": [family["movie_asset"]],
                               "outputs": [asset_input(family["episode"], role="proxy")]}).run
    out = lineage.record_run({"job": {"namespace": "t", "name": "trailer"}, "inputs": [into.outputs[0]],
                              "outputs": [asset_input(family["movie"], role="trailer")]}).run
    return {"lineage": lineage, "into": into, "out": out, **family}


def _view(crossing: dict[str, Any], access: Access) -> LineageView:
    lineage: LakeLineage = crossing["lineage"]
    return LineageView(lineage, lineage.lake.with_access(access))


def test_a_run_that_wrote_into_a_hidden_title_is_hidden(crossing: dict[str, Any]) -> None:
    view = _view(crossing, reader())
    assert view.get_run(crossing["into"].id) is None
    assert view.get_run(crossing["out"].id) is not None  # it read a hidden asset, but wrote into the movie
    assert {r.id for r in view.runs()} == {crossing["out"].id}
    assert _view(crossing, reader(crossing["series"])).get_run(crossing["into"].id) is not None


def test_lineage_through_a_hidden_title_shows_redacted_nodes(crossing: dict[str, Any]) -> None:
    view = _view(crossing, reader())
    root = crossing["movie_asset"]
    found = view.traverse(root, "DOWNSTREAM", 10, 100)
    hidden = {crossing["into"].id, crossing["into"].outputs[0]}
    ids = [n for n, _ in found.nodes]
    assert not hidden & set(ids) and not hidden & {x for e in found.edges for x in e}
    assert [d for n, d in found.nodes if is_redacted(n)] == [1, 2]
    assert len(ids) == 5 and len(found.edges) == 4 and not found.is_partial  # the shape shows
    assert view.traverse(root, "DOWNSTREAM", 10, 100).nodes == found.nodes  # stable within a view
    other = _view(crossing, reader()).traverse(root, "DOWNSTREAM", 10, 100)
    assert {n for n, _ in other.nodes if is_redacted(n)}.isdisjoint(ids)  # no use across views
    entitled = _view(crossing, reader(crossing["series"])).traverse(root, "DOWNSTREAM", 10, 100)
    assert hidden <= {n for n, _ in entitled.nodes}


def test_impact_and_provenance_skip_what_is_hidden(crossing: dict[str, Any]) -> None:
    view = _view(crossing, reader())
    trailer = crossing["out"].outputs[0]
    assert view.impact(crossing["movie_asset"]) == [trailer]
    steps, sources = view.provenance(trailer)
    assert [s.run_id for s in steps] == [crossing["out"].id] and sources == [crossing["movie_asset"]]


def test_a_writer_may_not_name_what_it_may_not_see(crossing: dict[str, Any]) -> None:
    view = _view(crossing, reader())
    with pytest.raises(MediaGraphError) as refused:
        view.record_run({"job": {"namespace": "t", "name": "x"}, "inputs": [crossing["episode_asset"]],
                         "outputs": []})
    assert "NOT_FOUND" in str(refused.value.details) or refused.value.code == "NOT_FOUND"
    episode_uri = crossing["lineage"].lake.assets.get(crossing["episode_asset"])["uri"]
    movie_uri = crossing["lineage"].lake.assets.get(crossing["movie_asset"])["uri"]
    runs_before = len(crossing["lineage"].runs())
    for inputs, outputs in (([episode_uri], []), ([movie_uri], [episode_uri])):
        event = {"eventType": "COMPLETE", "eventTime": "2026-01-01T00:00:00Z", "producer": "tests",
                 "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                 "run": {"runId": "3f0e1c4e-8a56-4a8e-9a35-1d5c0f7b0a11"}, "job": {"namespace": "t", "name": "ol"},
                 "inputs": [dict(zip(("namespace", "name"), uri_dataset(u), strict=True)) for u in inputs],
                 "outputs": [dict(zip(("namespace", "name"), uri_dataset(u), strict=True)) for u in outputs]}
        with pytest.raises(UnknownEntityError):
            view.ingest_event(event)
    assert len(crossing["lineage"].runs()) == runs_before

"""The lake view: every repository is bound to it, so every read is under its access and its
rule for runs. The checks walk the one list of repositories (``Repositories``), so a repository
added to the lake later is covered without editing this file."""
from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import opentimelineio as otio
import pytest

from graph_api.lake import Access, Lake, LakeView, count_reads
from graph_api.lake.base import Repo
from graph_api.lake.view import Repositories
from lineage.model import Run, new_run_id
from lineage.store import LanceLineageStore
from tests.conftest import asset_input, make_assets, make_title

REPOSITORY_NAMES = [f.name for f in fields(Repositories)]


def _fill(lake: Lake, title_id: str) -> None:
    """A row in every table family for ``title_id``."""
    asset = make_assets(lake, title_id)[0]
    segment = lake.segments.add([{"asset_id": asset["id"], "kind": "DIALOGUE", "start": 0, "end": 1,
                                  "text": f"line of {title_id}"}])[0]
    lake.annotations.add([{"asset_id": asset["id"], "segment_id": segment["id"], "label": "smoking"}])
    lake.embeddings.upsert("view-test", "model-x", [{"subject_id": segment["id"], "vector": [1.0, 0.5]},
                                                    {"subject_id": asset["id"], "vector": [0.5, 1.0]}])
    # the creative-workflow tables
    lake.reviews.add({"asset_id": asset["id"], "decision": "APPROVED"}, reviewer="ana")
    lake.notes.add([{"asset_id": asset["id"], "text": f"note on {title_id}"}], author="ana")
    lake.playlists.create({"name": f"dailies {title_id}", "title_id": title_id, "asset_ids": [asset["id"]]},
                          created_by="ana")
    lake.cuts.import_otio(title_id, f"cut of {title_id}", _one_clip_timeline(asset["uri"]), created_by="ana")


def _one_clip_timeline(uri: str) -> str:
    timeline = otio.schema.Timeline(name="Reel 1")
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    track.append(otio.schema.Clip(name="shot", media_reference=otio.schema.ExternalReference(target_url=uri),
                                  source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, 24),
                                                                       otio.opentime.RationalTime(24, 24))))
    return str(otio.adapters.write_to_string(timeline))


@pytest.fixture
def two_titles(lake: Lake) -> tuple[str, str]:
    mine, other = make_title(lake)["id"], make_title(lake)["id"]
    _fill(lake, mine)
    _fill(lake, other)
    return mine, other


@pytest.mark.parametrize("name", REPOSITORY_NAMES)
def test_every_repository_of_a_narrowed_view_reads_under_the_views_access(
        lake: Lake, two_titles: tuple[str, str], name: str) -> None:
    mine, other = two_titles
    view = lake.with_access(Access(title_ids=frozenset({mine})))
    repo: Repo = getattr(view.repositories, name)
    assert repo.view is view and getattr(view, name) is repo
    if repo.title_column is None:
        # a table not tied to a title has nothing to hide: it must not carry a title column
        assert "title_id" not in repo.schema.names, f"{name} has titles but reads past the access rule"
        return
    seen = set(repo.scan().column(repo.title_column).to_pylist())
    everything = set(getattr(lake, name).scan().column(repo.title_column).to_pylist())
    assert seen == {mine} and everything == {mine, other}


def test_a_narrowed_view_is_built_from_the_same_list_as_the_lake(lake: Lake) -> None:
    view = lake.with_access(Access(title_ids=frozenset()))
    assert [type(getattr(view.repositories, n)) for n in REPOSITORY_NAMES] == \
        [type(getattr(lake.repositories, n)) for n in REPOSITORY_NAMES]
    assert all(isinstance(getattr(view.repositories, n), Repo) for n in REPOSITORY_NAMES)
    assert view.search.view is view and view.connection is lake.connection
    assert isinstance(view, LakeView) and view.access == Access(title_ids=frozenset())


def test_embeddings_and_search_of_a_narrowed_view_stay_inside_it(lake: Lake, two_titles: tuple[str, str]) -> None:
    mine, _ = two_titles
    view = lake.with_access(Access(title_ids=frozenset({mine})))
    assert set(view.embeddings.list("view-test").column("title_id").to_pylist()) == {mine}
    hits = view.search.vector("view-test", [1.0, 0.5], first=10)
    assert set(hits.column("title_id").to_pylist()) == {mine}
    assert set(view.search.text("line", first=10).column("title_id").to_pylist()) == {mine}


def test_without_lineage_rows_of_a_run_are_hidden_until_its_runs_row_is_committed(lake: Lake) -> None:
    title = make_title(lake)
    source = make_assets(lake, title["id"])[0]
    run_id = new_run_id()
    # what a writer commits first: the rows naming the run (here without lineage loaded)
    lake.assets.write(lake.assets.prepare([asset_input(title["id"], role="proxy")], produced_by=run_id))
    assert lake.assets.list().column("id").to_pylist() == [source["id"]]
    now = datetime.now(UTC)
    LanceLineageStore(lake.db).write_run(Run(id=run_id, namespace="t", job_name="proxy", job_version=None,
                                             status="COMPLETED", parameters=None, started_at=now, ended_at=now,
                                             recorded_at=now, inputs=(), outputs=()))
    assert lake.assets.list().num_rows == 2
    # and the rule lets writes name the run now
    assert lake.segments.add([{"asset_id": source["id"], "kind": "SHOT", "start": 0, "end": 1, "run_id": run_id}])


def test_reads_are_counted_for_the_block_that_asks(lake: Lake) -> None:
    title = make_title(lake)
    with count_reads() as reads:
        lake.titles.get(title["id"])
        lake.assets.list()
    lake.titles.list()
    assert reads.total == 2

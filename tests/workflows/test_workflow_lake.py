"""The workflow tables through the Python data API (Arrow), and the enum that mirrors the decisions."""
from __future__ import annotations

import pyarrow as pa

from graph_api.lake import Access, Lake
from graph_api.schema.workflow_reads import ReviewDecision
from graph_api.workflows.reviews import DECISIONS
from tests.conftest import make_assets, make_title


def test_review_decision_enum_mirrors_the_decisions() -> None:
    assert tuple(d.value for d in ReviewDecision) == DECISIONS


def test_reviews_notes_cuts_playlists_list_as_arrow(lake: Lake) -> None:
    title = make_title(lake)
    [asset] = make_assets(lake, title["id"])
    lake.reviews.add({"asset_id": asset["id"], "decision": "APPROVED"}, reviewer="ana")
    lake.notes.add([{"asset_id": asset["id"], "text": "hum at 3 s", "start": 3.0}], author="ana")
    lake.playlists.create({"name": "Dailies", "asset_ids": [asset["id"]]}, created_by="ana")
    reviews = lake.reviews.list(title_ids=[title["id"]])
    notes = lake.notes.list(asset_ids=[asset["id"]], resolved=False)
    assert isinstance(reviews, pa.Table) and reviews.column("reviewer").to_pylist() == ["ana"]
    assert notes.column("text").to_pylist() == ["hum at 3 s"] and notes.column("end").to_pylist() == [3.0]
    assert lake.cuts.list(title_ids=[title["id"]]).num_rows == 0
    assert lake.playlists.list().column("items").to_pylist() == [[{"asset_id": asset["id"], "version": 1}]]


def test_a_restricted_reader_sees_no_workflow_rows_of_other_titles(lake: Lake) -> None:
    mine, other = make_title(lake), make_title(lake)
    [a] = make_assets(lake, mine["id"])
    [b] = make_assets(lake, other["id"])
    lake.reviews.add({"asset_id": a["id"], "decision": "APPROVED"}, reviewer="ana")
    lake.reviews.add({"asset_id": b["id"], "decision": "REJECTED"}, reviewer="ana")
    lake.notes.add([{"asset_id": b["id"], "text": "secret"}], author="ana")
    view = lake.with_access(Access(title_ids=frozenset([mine["id"]])))
    assert view.reviews.list().column("asset_id").to_pylist() == [a["id"]]
    assert view.notes.list().num_rows == 0


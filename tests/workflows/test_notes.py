"""The rules of a batch of notes: all problems of the batch named, nothing passed when any fails."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from graph_api.errors import InvalidArgument, MediaGraphError, NotFound
from graph_api.lake.notes import to_rows
from graph_api.workflows import notes
from graph_api.workflows.notes import CheckedNote, NotedAsset, RepliedNote, check_notes

# a proxy re-delivered once: v1 was 60 s, v2 is 90 s; a still image has no duration
ASSETS = {
    "asset_proxy": NotedAsset("asset_proxy", "title_1", 2, {1: 60.0, 2: 90.0}),
    "asset_still": NotedAsset("asset_still", "title_1", 1, {1: None}),
    "asset_other": NotedAsset("asset_other", "title_2", 1, {1: 10.0}),
}
REPLIED = {"note_1": RepliedNote("note_1", "asset_proxy"), "note_2": RepliedNote("note_2", "asset_other")}


def note(**kw: Any) -> dict[str, Any]:
    return {"asset_id": "asset_proxy", "text": "the sky flickers", **kw}


def refused(inputs: list[dict[str, Any]]) -> MediaGraphError:
    with pytest.raises(MediaGraphError) as caught:
        check_notes(inputs, ASSETS, REPLIED)
    return caught.value


def problems(inputs: list[dict[str, Any]]) -> list[tuple[int | None, str | None, str]]:
    return [(p["index"], p["field"], p["code"]) for p in refused(inputs).details["problems"]]


def test_a_good_batch_passes_in_order_with_defaults_filled_in() -> None:
    region = {"shapes": [{"type": "rect", "x": 0, "y": 0, "w": 0.5, "h": 0.5}]}
    out = check_notes([note(), note(start=12, end=14.5, region=region), note(version=1, start=3),
                       note(asset_id="asset_still", text="logo too small", reply_to=None),
                       note(text="agreed", reply_to="note_1", start=0, end=90)], ASSETS, REPLIED)
    assert out[0] == CheckedNote("asset_proxy", "title_1", 2, "the sky flickers", None, None, None, None)
    assert (out[1].start, out[1].end, out[1].version) == (12.0, 14.5, 2)
    assert out[1].region == '{"shapes":[{"h":0.5,"type":"rect","w":0.5,"x":0.0,"y":0.0}]}'
    # a start alone marks one moment
    assert (out[2].version, out[2].start, out[2].end) == (1, 3.0, 3.0)
    assert out[3].asset_id == "asset_still" and out[4].reply_to == "note_1"


def test_a_time_range_must_lie_within_the_duration_of_the_noted_version() -> None:
    assert check_notes([note(start=80, end=90)], ASSETS, REPLIED)[0].end == 90
    # v1 was shorter
    assert problems([note(version=1, start=50, end=70)]) == [(0, "end", "INVALID_ARGUMENT")]
    assert problems([note(start=95, end=99)]) == [(0, "start", "INVALID_ARGUMENT"), (0, "end", "INVALID_ARGUMENT")]
    assert problems([note(start=95)]) == [(0, "start", "INVALID_ARGUMENT")]
    # an asset of unknown duration takes any time
    assert check_notes([note(asset_id="asset_still", start=5, end=9)], ASSETS, REPLIED)[0].end == 9


@pytest.mark.parametrize("fields, field", [
    ({"start": 5, "end": 4}, "end"),
    ({"start": -1, "end": 4}, "start"),
    ({"end": 4}, "start"),
    ({"start": "1s"}, "start"),
    ({"start": True}, "start"),
    ({"start": 1, "end": float("inf")}, "end"),
    ({"start": float("nan")}, "start"),
])
def test_bad_time_ranges_are_refused(fields: dict[str, Any], field: str) -> None:
    assert problems([note(**fields)]) == [(0, field, "INVALID_ARGUMENT")]


@pytest.mark.parametrize("text", [None, "", "   \n", 7])
def test_text_is_required(text: Any) -> None:
    assert problems([note(text=text)]) == [(0, "text", "INVALID_ARGUMENT")]


def test_text_is_bounded() -> None:
    assert check_notes([note(text="x" * notes.MAX_TEXT)], ASSETS, REPLIED)
    assert problems([note(text="x" * (notes.MAX_TEXT + 1))]) == [(0, "text", "INVALID_ARGUMENT")]


def test_unknown_ids_are_not_found() -> None:
    error = refused([note(asset_id="asset_nope")])
    assert isinstance(error, NotFound) and error.code == "NOT_FOUND"
    assert problems([note(asset_id="asset_nope")]) == [(0, "asset_id", "NOT_FOUND")]
    assert problems([note(asset_id=None)]) == [(0, "asset_id", "INVALID_ARGUMENT")]
    assert problems([note(reply_to="note_nope")]) == [(0, "reply_to", "NOT_FOUND")]
    assert problems([note(version=3)]) == [(0, "version", "NOT_FOUND")]
    assert problems([note(version=0)]) == [(0, "version", "NOT_FOUND")]
    assert problems([note(version="2")]) == [(0, "version", "INVALID_ARGUMENT")]
    assert problems([note(reply_to=5)]) == [(0, "reply_to", "INVALID_ARGUMENT")]


def test_a_reply_to_a_note_of_another_asset_is_refused_but_another_version_is_fine() -> None:
    error = refused([note(reply_to="note_2")])
    assert isinstance(error, InvalidArgument)
    assert "'asset_other'" in error.message
    # note_1 is about the proxy, whatever version it was written on
    assert check_notes([note(version=1, reply_to="note_1")], ASSETS, REPLIED)[0].reply_to == "note_1"


def test_a_malformed_region_is_named_with_its_note() -> None:
    assert problems([note(), note(region=[{"type": "rect", "x": 2, "y": 0, "w": 0.1, "h": 0.1}])]) == [
        (1, "region.shapes[0].x", "INVALID_ARGUMENT")]


def test_every_problem_of_the_batch_is_named_at_once_and_none_passes() -> None:
    error = refused([note(), note(text=""), note(asset_id="asset_nope", start=3, end=1), note(start=5, end=4),
                     note(reply_to="note_2")])
    found = [(p["index"], p["field"]) for p in error.details["problems"]]
    assert found == [(1, "text"), (2, "asset_id"), (2, "end"), (3, "end"), (4, "reply_to")]
    assert error.message.startswith("addNotes: nothing was written: input[1].text")
    assert "(and" not in error.message  # five problems are all shown


def test_the_batch_size_is_bounded() -> None:
    assert problems([]) == [(None, None, "INVALID_ARGUMENT")]
    with pytest.raises(InvalidArgument, match="maximum of 2"):
        check_notes([note()] * 3, ASSETS, REPLIED, max_batch=2)


def test_note_rows_convert_like_arrow_does() -> None:
    stamps = [datetime(2026, 3, 1, 12, 30, 15, 250, tzinfo=UTC), None, datetime(1969, 12, 31, 23, 59, tzinfo=UTC)]
    table = pa.table({"id": ["note_1", "note_2", "note_3"], "start": [1.5, None, 0.0],
                      "resolved_at": pa.array(stamps, pa.timestamp("us", tz="UTC"))})
    assert to_rows(table) == table.to_pylist()
    assert [repr(r["resolved_at"]) for r in to_rows(table)] == [repr(r["resolved_at"]) for r in table.to_pylist()]
    assert to_rows(table.slice(0, 0)) == []

"""The columnar checks of a bulk write accept only what the row checks accept: a doubtful batch goes
to the row checks, so a client gets the same error naming the row and field, and nothing is written."""
from __future__ import annotations

from typing import Any

import pytest

from graph_api.errors import InvalidArgument, MediaGraphError
from graph_api.lake import Lake
from graph_api.lake.assets import Assets
from graph_api.lake.columns import NotColumnar
from graph_api.lake.validate import Problems
from tests.conftest import asset_input, make_title

BAD: list[tuple[str, dict[str, Any]]] = [
    ("title_id", {"title_id": b"bytes"}),
    ("role", {"role": "   "}),
    ("role", {"role": "\u3000"}),  # an ideographic space: blank for str.strip()
    ("role", {"role": None}),
    ("uri", {"uri": "s3://a/\x85b.mov"}),  # a C1 control character
    ("uri", {"uri": "s3://a/" + "é" * 5000}),
    ("media_type", {"media_type": "HOLOGRAM"}),
    ("checksum", {"checksum": "md5:abc"}),
    ("size_bytes", {"size_bytes": -1}),
    ("size_bytes", {"size_bytes": 1.5}),
    ("width", {"width": True}),
    ("width", {"width": 2**31}),
    ("duration_seconds", {"duration_seconds": float("nan")}),
    ("frame_rate", {"frame_rate": 0}),
    ("technical", {"technical": [1, 2]}),
    ("technical", {"technical": {"a": "b\x00"}}),
    ("technical", {"technical": "not json"}),
    ("label", {"label": "x" * 2000}),  # any field STRING_RULES knows, as the row checks read it
]


@pytest.mark.parametrize(("field", "change"), BAD, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD)])
def test_a_bad_value_leaves_the_columnar_path_and_gets_the_row_error(lake: Lake, field: str,
                                                                    change: dict[str, Any]) -> None:
    title = make_title(lake)
    batch = [asset_input(title["id"], external_id=f"e{i}") for i in range(3)]
    batch[1].update(change)
    with pytest.raises(NotColumnar):
        Assets._check_columns(batch, 100)
    expected = Problems("registerAssets", 100)
    lake.assets._check_rows(batch, expected)
    assert [(p["index"], p["field"]) for p in expected.items] == [(1, field)]
    with pytest.raises(MediaGraphError) as error:
        lake.assets.register(batch)
    assert [(p["index"], p["field"], p["message"]) for p in error.value.details["problems"]] == [
        (p["index"], p["field"], p["message"]) for p in expected.items]
    assert lake.assets.list().num_rows == 0


def test_repeated_external_ids_and_unknown_titles_are_named_as_before(lake: Lake) -> None:
    title = make_title(lake)
    batch = [asset_input(title["id"], external_id="same"), asset_input(title["id"], external_id="same"),
             asset_input("title_nope")]
    with pytest.raises(MediaGraphError) as error:
        lake.assets.register(batch)
    assert [(p["index"], p["field"], p["code"]) for p in error.value.details["problems"]] == [
        (1, "external_id", "CONFLICT"), (2, "title_id", "NOT_FOUND")]
    clean = [asset_input(title["id"]), asset_input("title_nope"), asset_input("title_nope2")]
    with pytest.raises(MediaGraphError) as unknown:
        lake.assets.register(clean)
    assert [(p["index"], p["field"]) for p in unknown.value.details["problems"]] == [(1, "title_id"), (2, "title_id")]
    assert lake.assets.list().num_rows == 0


def test_a_clean_batch_built_by_columns_reads_back_as_the_row_build_would(lake: Lake) -> None:
    title = make_title(lake)
    batch = [asset_input(title["id"], external_id=f"c{i}", uri=f"s3://b/clip-{i}-é.mov", duration_seconds=60,
                         technical={"codec": "h264", "z": [1, {"b": None}], "a": "π"} if i % 2 else None)
             for i in range(200)]
    batch[5]["role"] = " mezzanine "  # surrounding spaces are text, not blank
    Assets._check_columns(batch, 1000)  # the columnar path takes it
    results = lake.assets.register(batch)
    assert [r["external_id"] for r in results] == [f"c{i}" for i in range(200)]
    assert [r["id"] for r in results] == sorted(r["id"] for r in results)  # ids sort in input order
    stored = {r["id"]: r for r in lake.assets.list().to_pylist()}
    for given, result in zip(batch, results, strict=True):
        row = stored[result["id"]]
        assert row["row_key"] == f"{result['id']}:1" and row["version"] == 1 and row["is_current"]
        for key in ("uri", "role", "duration_seconds", "size_bytes", "width", "frame_rate", "checksum"):
            assert row[key] == given[key] == result[key]
        assert row["technical"] == result["technical"]
    assert results[1]["technical"] == '{"a": "\\u03c0", "codec": "h264", "z": [1, {"b": null}]}'
    # delivered again: the existing ids take the row-by-row build (new versions), the new one is added
    again = [{**batch[0], "checksum": "sha256:" + "0" * 64}, asset_input(title["id"], external_id="fresh")]
    second = lake.assets.register(again)
    assert (second[0]["id"], second[0]["version"]) == (results[0]["id"], 2) and second[1]["version"] == 1
    with pytest.raises(InvalidArgument):
        lake.assets.register([asset_input(title["id"], uri="")])


def test_a_large_redelivery_finds_its_assets_through_the_id_span(lake: Lake) -> None:
    title = make_title(lake)
    first = lake.assets.register([asset_input(title["id"], external_id=f"span-{i:03d}") for i in range(0, 200, 2)])
    # the odd ids fall between the even ones: the span holds other assets, and the even ones come back
    again = [asset_input(title["id"], external_id=f"span-{i:03d}") for i in range(1, 101)]
    results = lake.assets.register(again)
    by_external = {r["external_id"]: r for r in first}
    for given, result in zip(again, results, strict=True):
        old = by_external.get(given["external_id"])
        assert (result["id"], result["version"]) == ((old["id"], 2) if old else (result["id"], 1))
    assert lake.assets.list(all_versions=True).num_rows == 100 + 100


def test_the_rows_a_columnar_batch_returns_are_the_row_builds_rows(lake: Lake) -> None:
    title = make_title(lake)
    batch = [asset_input(title["id"], external_id=f"r{i}", width=1920, technical={"b": 1.5, "a": "é"} if i else None)
             for i in range(3)]
    batch[2] = {k: v for k, v in batch[2].items() if k not in ("width", "external_id")}  # omitted fields: None
    odd = [{**row, "not_a_field": 1} for row in batch]  # keys the build ignores
    for given in (batch, odd):
        columnar = Assets._check_columns(given, 100)
        fast = Assets._new_assets(columnar, columnar.technical, None).results
        slow = Assets._build_rows(given, columnar.technical, {}, None).results
        for a, b in zip(fast, slow, strict=True):
            assert list(a) == list(b)  # the same keys in the same order
            for key in ("id", "created_at", "updated_at"):
                a.pop(key), b.pop(key)
            assert a == b
    assert fast[1]["technical"] == '{"a": "\\u00e9", "b": 1.5}' and fast[2]["width"] is None

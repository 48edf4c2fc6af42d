"""The Python API is held to the same string and JSON rules as GraphQL clients: nothing is written."""
from __future__ import annotations

from typing import Any

import pytest

from graph_api.errors import InvalidArgument
from graph_api.lake import Lake
from tests.conftest import asset_input, make_assets, make_title


def problem_fields(exc: InvalidArgument) -> list[Any]:
    return [p["field"] for p in exc.details["problems"]]


def test_a_long_name_and_a_nul_are_refused_naming_the_field(lake: Lake) -> None:
    with pytest.raises(InvalidArgument) as long_name:
        lake.titles.create([{"name": "n" * 5000, "kind": "MOVIE"}])
    assert problem_fields(long_name.value) == ["name"]
    assert len(long_name.value.message) < 2000
    with pytest.raises(InvalidArgument) as nul:
        lake.titles.create([{"name": "fine", "kind": "MOVIE"}, {"name": "a\x00b", "kind": "MOVIE"}])
    assert [(p["index"], p["field"]) for p in nul.value.details["problems"]] == [(1, "name")]
    assert lake.titles.list().num_rows == 0


def test_text_keeps_line_breaks_but_identifiers_take_no_control_characters(lake: Lake) -> None:
    title = make_title(lake, name="Two\nlines\tand a tab")
    with pytest.raises(InvalidArgument) as bad:
        lake.assets.register([asset_input(title["id"], uri="s3://a/\nb.mov"), asset_input(title["id"], role="x\x7f")])
    assert problem_fields(bad.value) == ["uri", "role"]


def test_json_values_are_bounded_in_size_and_nesting(lake: Lake) -> None:
    title = make_title(lake)
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(InvalidArgument) as too_deep:
        lake.assets.register([asset_input(title["id"], technical={"k": deep})])
    assert problem_fields(too_deep.value) == ["technical"]
    asset = make_assets(lake, title["id"])[0]
    with pytest.raises(InvalidArgument) as too_big:
        lake.annotations.add([{"asset_id": asset["id"], "label": "x", "value": "v" * 300_000}])
    assert problem_fields(too_big.value) == ["value"]

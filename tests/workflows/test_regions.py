"""A note's region: shapes in normalized frame coordinates, every bad shape named by index and field."""
from __future__ import annotations

import json
from typing import Any

import pytest

from graph_api.errors import InvalidArgument
from graph_api.workflows import regions
from graph_api.workflows.problems import Problems
from graph_api.workflows.regions import check_region, region_json

RECT = {"type": "rect", "x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4}
ELLIPSE = {"type": "ellipse", "cx": 0.5, "cy": 0.5, "rx": 0.25, "ry": 0.1}
STROKE = {"type": "freehand", "points": [[0.1, 0.1], [0.2, 0.25], [0.3, 0.2]]}
ARROW = {"type": "arrow", "from": [0, 0], "to": [1, 1]}


def check(value: Any) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    problems = Problems("addNotes")
    out = check_region(value, problems, 0)
    return out, problems.items


def fields(value: Any) -> list[str]:
    out, found = check(value)
    assert out is None and found
    assert all(p["index"] == 0 and p["code"] == "INVALID_ARGUMENT" for p in found)
    return [p["field"] for p in found]


def test_every_shape_kind_is_accepted_and_made_canonical() -> None:
    polyline = {"type": "polyline", "points": [[0, 0], [1, 0]], "color": "#FF0000", "width": 0.005}
    out, found = check({"shapes": [RECT, ELLIPSE, STROKE, ARROW, polyline]})
    assert found == []
    assert out is not None and [s["type"] for s in out["shapes"]] == ["rect", "ellipse", "freehand", "arrow", "polyline"]
    assert out["shapes"][3] == {"type": "arrow", "from": [0.0, 0.0], "to": [1.0, 1.0]}
    assert out["shapes"][4]["color"] == "#ff0000" and out["shapes"][4]["width"] == 0.005
    assert all(isinstance(v, float) for v in out["shapes"][0].values() if not isinstance(v, str))


def test_a_bare_list_and_json_text_are_the_same_region() -> None:
    assert check([RECT])[0] == check({"shapes": [RECT]})[0] == check(json.dumps({"shapes": [RECT]}))[0]


def test_a_value_that_is_not_json_is_refused() -> None:
    assert fields([{**RECT, "x": {1, 2}}]) == ["region"]


def test_no_region_is_no_problem() -> None:
    assert check(None) == (None, [])
    assert region_json(None) is None


def test_the_stored_text_is_compact_sorted_json() -> None:
    out, _ = check([ARROW])
    assert region_json(out) == '{"shapes":[{"from":[0.0,0.0],"to":[1.0,1.0],"type":"arrow"}]}'


@pytest.mark.parametrize("value, field", [
    ("{not json", "region"),
    (42, "region"),
    ("[1", "region"),
    ({"shapes": "rect"}, "region.shapes"),
    ({}, "region.shapes"),
    ({"shapes": []}, "region.shapes"),
    ({"shapes": [RECT], "frame": 3}, "region"),
    ([7], "region.shapes[0]"),
    ([{"x": 0}], "region.shapes[0].type"),
    ([{"type": "star"}], "region.shapes[0].type"),
    ([{**RECT, "x": 1.2}], "region.shapes[0].x"),
    ([{**RECT, "y": -0.1}], "region.shapes[0].y"),
    ([{**RECT, "w": 0}], "region.shapes[0].w"),
    ([{**RECT, "x": 0.8, "w": 0.3}], "region.shapes[0].w"),
    ([{**RECT, "h": "tall"}], "region.shapes[0].h"),
    ([{**RECT, "h": True}], "region.shapes[0].h"),
    ([{**RECT, "h": float("nan")}], "region.shapes[0].h"),
    ([{k: v for k, v in RECT.items() if k != "h"}], "region.shapes[0].h"),
    ([{**RECT, "widht": 0.01}], "region.shapes[0]"),
    ([{**ELLIPSE, "rx": -0.1}], "region.shapes[0].rx"),
    ([{**ELLIPSE, "cx": 0.9, "rx": 0.2}], "region.shapes[0].rx"),
    ([{**ELLIPSE, "cy": 2}], "region.shapes[0].cy"),
    ([{"type": "polyline", "points": [[0.5, 0.5]]}], "region.shapes[0].points"),
    ([{"type": "polyline"}], "region.shapes[0].points"),
    ([{"type": "freehand", "points": [[0, 0], [0.5, 1.5]]}], "region.shapes[0].points[1]"),
    ([{"type": "freehand", "points": [[0, 0], [0.5]]}], "region.shapes[0].points[1]"),
    ([{"type": "freehand", "points": [[0, 0], "a"]}], "region.shapes[0].points[1]"),
    ([{**ARROW, "to": [0.5, None]}], "region.shapes[0].to"),
    ([{"type": "arrow", "from": [0, 0]}], "region.shapes[0].to"),
    ([{**RECT, "color": "red"}], "region.shapes[0].color"),
    ([{**RECT, "color": "#12345"}], "region.shapes[0].color"),
    ([{**RECT, "width": 0}], "region.shapes[0].width"),
    ([{**RECT, "width": 2}], "region.shapes[0].width"),
])
def test_each_bad_input_is_named_by_shape_index_and_field(value: Any, field: str) -> None:
    assert field in fields(value)


def test_every_bad_shape_of_a_region_is_named_at_once() -> None:
    found = fields([RECT, {**RECT, "x": 2}, ELLIPSE, {**ARROW, "from": [3, 3]}, {**STROKE, "color": 1}])
    assert found == ["region.shapes[1].x", "region.shapes[3].from", "region.shapes[4].color"]


def test_a_long_bad_stroke_is_summarised_after_the_first_few_points() -> None:
    found = fields([{"type": "freehand", "points": [[0, 0]] + [[5, 5]] * 50}])
    assert found == ["region.shapes[0].points[1]", "region.shapes[0].points[2]", "region.shapes[0].points[3]",
                     "region.shapes[0].points"]


def test_limits_on_shapes_points_size_and_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert fields([RECT] * (regions.MAX_SHAPES + 1)) == ["region.shapes"]
    many = {"type": "freehand", "points": [[0.5, 0.5]] * (regions.MAX_POINTS_PER_SHAPE + 1)}
    assert fields([many]) == ["region.shapes[0].points"]
    monkeypatch.setattr(regions, "MAX_POINTS", 5)
    assert fields([STROKE, STROKE]) == ["region.shapes"]
    monkeypatch.setattr(regions, "MAX_REGION_CHARS", 100)
    assert fields([RECT, RECT, RECT]) == ["region"]
    assert fields(json.dumps([RECT, RECT, RECT])) == ["region"]


def test_a_deeply_nested_region_is_refused_without_exhausting_the_stack() -> None:
    deep: Any = [0.5, 0.5]
    for _ in range(100_000):
        deep = [deep]
    _, found = check([{"type": "polyline", "points": deep}])
    assert found and "nests" in found[0]["message"]
    _, found = check("[" * 50 + "]" * 50)
    assert found and "nests" in found[0]["message"]


def test_problems_raise_as_one_invalid_argument() -> None:
    problems = Problems("addNotes")
    check_region([{**RECT, "x": 2}], problems, 3)
    with pytest.raises(InvalidArgument) as caught:
        problems.raise_if_any()
    assert "input[3].region.shapes[0].x" in caught.value.message
    assert caught.value.details["problems"][0]["index"] == 3

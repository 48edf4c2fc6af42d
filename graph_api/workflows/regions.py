"""A note's ``region``: a drawing on the frame, validated before it is stored.

A region is ``{"shapes": [shape, ...]}`` (a bare list of shapes is taken as the same). Every
coordinate is normalized to the frame: x from the left edge (0) to the right (1), y from the top
edge (0) to the bottom (1), so a drawing survives any rendition of the asset.

    rect                 {"type": "rect", "x", "y", "w", "h"}            top-left corner and size
    ellipse              {"type": "ellipse", "cx", "cy", "rx", "ry"}     centre and radii
    polyline, freehand   {"type": "polyline", "points": [[x, y], ...]}   at least 2 points
    arrow                {"type": "arrow", "from": [x, y], "to": [x, y]}

Each shape may carry ``color`` ("#rgb", "#rrggbb" or "#rrggbbaa") and ``width`` (the stroke width,
as a fraction of the frame's height, so it scales with the picture too). A shape lies inside the
frame. Unknown keys are refused rather than dropped: a misspelt ``widht`` would otherwise vanish.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, TypeGuard

from graph_api.workflows.problems import Problems

MAX_REGION_CHARS = 64 * 1024  # of the region as compact JSON
MAX_DEPTH = 6  # {shapes: [{points: [[x, y]]}]} is 5 deep
MAX_SHAPES = 200
MAX_POINTS_PER_SHAPE = 5_000
MAX_POINTS = 20_000  # over all shapes of one region
MAX_WIDTH = 0.5
SHAPE_TYPES: tuple[str, ...] = ("rect", "ellipse", "polyline", "freehand", "arrow")
STYLE_KEYS: tuple[str, ...] = ("color", "width")
_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
# floats computed by a client (0.1 + 0.2) may land a hair outside the frame
_EPS = 1e-9

Report = Callable[[str, str], None]  # (field path, message)


def check_region(value: Any, problems: Problems, index: int | None = None,
                 field: str = "region") -> dict[str, Any] | None:
    """The region in its canonical form (``{"shapes": [...]}``, numbers as floats), or None.

    Each problem is added with ``index`` and a field path such as ``region.shapes[2].w``; None is
    returned when there is any (or when ``value`` is None: no region)."""
    if value is None:
        return None
    before = len(problems)

    def report(path: str, message: str) -> None:
        problems.add(index, path, message)

    parsed = _parse(value, field, report)
    if parsed is None:
        return None
    shapes = parsed if isinstance(parsed, list) else _shapes_of(parsed, field, report)
    if shapes is None:
        return None
    base = f"{field}.shapes"
    if not shapes:
        report(base, "a region needs at least one shape; omit the region for a note without a drawing")
    if len(shapes) > MAX_SHAPES:
        report(base, f"{len(shapes)} shapes exceed the maximum of {MAX_SHAPES}")
        return None
    out: list[dict[str, Any]] = []
    points = 0
    for i, shape in enumerate(shapes):
        checked = _shape(shape, f"{base}[{i}]", report)
        if checked is not None:
            points += len(checked.get("points", ()))
            out.append(checked)
    if points > MAX_POINTS:
        report(base, f"{points} points in all exceed the maximum of {MAX_POINTS}")
    return {"shapes": out} if len(problems) == before else None


def region_json(region: dict[str, Any] | None) -> str | None:
    """The stored text of a checked region (JSON columns hold text)."""
    return None if region is None else json.dumps(region, sort_keys=True, separators=(",", ":"))


def _parse(value: Any, field: str, report: Report) -> Any:
    if isinstance(value, str):
        # the JSON scalar may arrive as text; the size limit applies before parsing it
        if len(value) > MAX_REGION_CHARS:
            report(field, f"is {len(value)} characters of JSON; the maximum is {MAX_REGION_CHARS}")
            return None
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            report(field, "is not valid JSON")
            return None
    depth = _depth(value)
    if depth > MAX_DEPTH:
        report(field, f"nests {depth} levels deep; the maximum is {MAX_DEPTH}")
        return None
    try:
        # NaN is let through here so that the shape check names the field that holds it
        size = len(json.dumps(value, separators=(",", ":")))
    except (TypeError, ValueError):
        report(field, "is not JSON")
        return None
    if size > MAX_REGION_CHARS:
        report(field, f"is {size} characters of JSON; the maximum is {MAX_REGION_CHARS}")
        return None
    if not isinstance(value, (dict, list)):
        report(field, 'must be {"shapes": [...]} or a list of shapes')
        return None
    return value


def _depth(value: Any) -> int:
    # iterative: a hostile region nested thousands deep must not exhaust the stack
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _shapes_of(region: dict[str, Any], field: str, report: Report) -> list[Any] | None:
    extra = sorted(set(region) - {"shapes"})
    if extra:
        report(field, f"unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}; "
                      'a region is {"shapes": [...]}')
    shapes = region.get("shapes")
    if not isinstance(shapes, list):
        report(f"{field}.shapes", "is required and must be a list of shapes")
        return None
    return shapes


_FIELDS: dict[str, tuple[str, ...]] = {
    "rect": ("x", "y", "w", "h"),
    "ellipse": ("cx", "cy", "rx", "ry"),
    "polyline": ("points",),
    "freehand": ("points",),
    "arrow": ("from", "to"),
}


def _shape(shape: Any, path: str, report: Report) -> dict[str, Any] | None:
    if not isinstance(shape, dict):
        report(path, "a shape must be an object with a type")
        return None
    kind = shape.get("type")
    if kind not in _FIELDS:
        report(f"{path}.type", f"{kind!r} is not one of {', '.join(SHAPE_TYPES)}")
        return None
    fields = _FIELDS[kind]
    extra = sorted(set(shape) - {"type", *fields, *STYLE_KEYS})
    if extra:
        report(path, f"unknown key{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))} for a {kind}; "
                     f"it has {', '.join(fields + STYLE_KEYS)}")
    failed = bool(extra)
    out: dict[str, Any] = {"type": kind}
    if kind in ("rect", "ellipse"):
        numbers = {}
        for name in fields:
            number = _number(shape, name, path, report)
            failed |= number is None
            numbers[name] = number
        if not failed:
            failed = not (_rect(numbers, path, report) if kind == "rect" else _ellipse(numbers, path, report))
        out.update(numbers)
    elif kind == "arrow":
        for name in fields:
            point = _point(shape.get(name), f"{path}.{name}", report)
            failed |= point is None
            out[name] = point
    else:
        points = _points(shape.get("points"), f"{path}.points", report)
        failed |= points is None
        out["points"] = points
    failed |= not _style(shape, path, report, out)
    return None if failed else out


def _finite(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(shape: dict[str, Any], name: str, path: str, report: Report) -> float | None:
    value = shape.get(name)
    if name not in shape:
        report(f"{path}.{name}", "is required")
        return None
    if not _finite(value):
        report(f"{path}.{name}", f"{value!r} is not a finite number")
        return None
    return float(value)


def _in_frame(value: float) -> bool:
    return -_EPS <= value <= 1 + _EPS


def _rect(n: dict[str, Any], path: str, report: Report) -> bool:
    ok = True
    for name in ("x", "y"):
        if not _in_frame(n[name]):
            report(f"{path}.{name}", f"{n[name]} is outside the frame [0, 1]")
            ok = False
    for name, corner in (("w", "x"), ("h", "y")):
        if n[name] <= 0:
            report(f"{path}.{name}", f"must be positive, got {n[name]}")
            ok = False
        elif ok and n[corner] + n[name] > 1 + _EPS:
            report(f"{path}.{name}", f"{corner} + {name} = {n[corner] + n[name]:g} reaches past the frame's edge (1)")
            ok = False
    return ok


def _ellipse(n: dict[str, Any], path: str, report: Report) -> bool:
    ok = True
    for name in ("cx", "cy"):
        if not _in_frame(n[name]):
            report(f"{path}.{name}", f"{n[name]} is outside the frame [0, 1]")
            ok = False
    for name, centre in (("rx", "cx"), ("ry", "cy")):
        if n[name] <= 0:
            report(f"{path}.{name}", f"must be positive, got {n[name]}")
            ok = False
        elif ok and (n[centre] - n[name] < -_EPS or n[centre] + n[name] > 1 + _EPS):
            report(f"{path}.{name}", f"the ellipse ({centre} {n[centre]:g} ± {n[name]:g}) reaches past the frame")
            ok = False
    return ok


def _point(value: Any, path: str, report: Report) -> list[float] | None:
    if not isinstance(value, list) or len(value) != 2:
        report(path, f"must be a point [x, y], got {_short(value)}")
        return None
    if not all(_finite(v) for v in value):
        report(path, f"{_short(value)} holds a value that is not a finite number")
        return None
    if not all(_in_frame(v) for v in value):
        report(path, f"{_short(value)} is outside the frame [0, 1]")
        return None
    return [float(value[0]), float(value[1])]


def _points(value: Any, path: str, report: Report) -> list[list[float]] | None:
    if not isinstance(value, list):
        report(path, "is required and must be a list of points [x, y]")
        return None
    if len(value) < 2:
        report(path, f"needs at least 2 points, got {len(value)}")
        return None
    if len(value) > MAX_POINTS_PER_SHAPE:
        report(path, f"{len(value)} points exceed the maximum of {MAX_POINTS_PER_SHAPE} per shape")
        return None
    out: list[list[float]] = []
    bad = 0
    for i, item in enumerate(value):
        point = _point(item, f"{path}[{i}]", report if bad < 3 else _quiet)
        if point is None:
            bad += 1
        else:
            out.append(point)
    if bad > 3:
        report(path, f"{bad} of {len(value)} points are not points [x, y] inside the frame")
    return None if bad else out


def _quiet(path: str, message: str) -> None:
    # past the first few bad points of a freehand stroke, one summary says how many more
    pass


def _style(shape: dict[str, Any], path: str, report: Report, out: dict[str, Any]) -> bool:
    ok = True
    if "color" in shape:
        color = shape["color"]
        if not isinstance(color, str) or not _COLOR.match(color):
            report(f"{path}.color", f'{_short(color)} is not a colour "#rgb", "#rrggbb" or "#rrggbbaa"')
            ok = False
        else:
            out["color"] = color.lower()
    if "width" in shape:
        width = shape["width"]
        if not _finite(width) or not 0 < width <= MAX_WIDTH:
            report(f"{path}.width", f"{_short(width)} is not a stroke width in (0, {MAX_WIDTH}] "
                                    "(a fraction of the frame's height)")
            ok = False
        else:
            out["width"] = float(width)
    return ok


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."

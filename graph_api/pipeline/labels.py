"""Label files: a reviewer's time-coded labels of one delivered media file, imported as annotations.

A label file sits in a delivery next to the file it labels and is named ``*.labels.json`` or
``*.labels.csv``. ``ingest`` registers it as a TEXT asset (role ``labels``) and imports its
labels with an ``annotations-import`` run whose inputs are the labelled asset and the label
file, so each annotation has lineage back to both, and a changed label file (or a new version
of the media) makes the import stale and ingest redoes it.

JSON::

    {"media": "clip.mp4", "category": "compliance", "reviewer": "R. Lee",
     "labels": [{"label": "smoking", "start": 1.5, "end": 3.25, "confidence": 0.9}]}

CSV, one label a row (``category`` and ``confidence`` optional, ``media`` the same on every row)::

    media,start,end,label,confidence,category
    clip.mp4,1.5,3.25,smoking,0.9,compliance

``media`` is a path relative to the label file. ``category`` defaults to ``compliance``.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph_api.media.errors import MediaError

LABELS_JOB = "annotations-import"
LABELS_VERSION = "1.0.0"
LABELS_ROLE = "labels"
SUFFIXES = (".labels.json", ".labels.csv")
DEFAULT_CATEGORY = "compliance"


class BadLabelsError(MediaError):
    code = "BAD_LABELS"


@dataclass(frozen=True)
class Label:
    label: str
    start: float
    end: float
    category: str = DEFAULT_CATEGORY
    confidence: float | None = None


@dataclass(frozen=True)
class LabelFile:
    path: Path
    media: Path  # absolute: the file the labels are about
    format: str  # "json" or "csv"
    reviewer: str | None = None
    labels: list[Label] = field(default_factory=list)

    def annotations(self, asset_id: str) -> list[dict[str, Any]]:
        value = {"source": self.path.name, **({"reviewer": self.reviewer} if self.reviewer else {})}
        return [{"asset_id": asset_id, "category": x.category, "label": x.label, "confidence": x.confidence,
                 "start": x.start, "end": x.end, "value": value} for x in self.labels]


def is_label_file(path: Path) -> bool:
    return path.name.lower().endswith(SUFFIXES)


def read_labels(path: Path) -> LabelFile:
    """Parse and check a label file; BadLabelsError names the first problem (and its label)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BadLabelsError(f"not UTF-8 text ({exc.reason})", path) from exc
    if path.name.lower().endswith(".labels.json"):
        media, reviewer, rows = _parse_json(path, text)
        fmt = "json"
    else:
        media, reviewer, rows = _parse_csv(path, text)
        fmt = "csv"
    if not rows:
        raise BadLabelsError("no labels", path)
    labels = [_label(path, i, row) for i, row in enumerate(rows, 1)]
    return LabelFile(path=path, media=(path.parent / media).absolute(), format=fmt, reviewer=reviewer,
                     labels=labels)


def _parse_json(path: Path, text: str) -> tuple[str, str | None, list[dict[str, Any]]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadLabelsError(f"not JSON: {exc}", path) from exc
    if not isinstance(data, dict) or not isinstance(data.get("labels"), list):
        raise BadLabelsError('expected an object with "media" and a "labels" list', path)
    media = data.get("media")
    if not isinstance(media, str) or not media.strip():
        raise BadLabelsError('"media" must name the labelled file', path)
    reviewer = data.get("reviewer")
    category = data.get("category", DEFAULT_CATEGORY)
    rows = [{"category": category, **row} if isinstance(row, dict) else row for row in data["labels"]]
    return media, reviewer if isinstance(reviewer, str) else None, rows


def _parse_csv(path: Path, text: str) -> tuple[str, str | None, list[dict[str, Any]]]:
    reader = csv.DictReader(text.splitlines())
    missing = {"media", "start", "end", "label"} - set(reader.fieldnames or [])
    if missing:
        raise BadLabelsError(f"missing column(s) {', '.join(sorted(missing))}", path)
    rows = [{k: v for k, v in row.items() if v not in (None, "")} for row in reader]
    media = {row.get("media") for row in rows}
    if len(media) > 1:
        raise BadLabelsError("every row must label the same media file", path)
    return (media.pop() if media else "") or "", None, rows


def _label(path: Path, i: int, row: Any) -> Label:
    if not isinstance(row, dict):
        raise BadLabelsError(f"label {i}: expected an object", path)
    name, category = row.get("label"), row.get("category", DEFAULT_CATEGORY)
    if not isinstance(name, str) or not name.strip():
        raise BadLabelsError(f"label {i}: no label", path)
    if not isinstance(category, str) or not category.strip():
        raise BadLabelsError(f"label {i}: bad category", path)
    start, end = _number(path, i, row, "start"), _number(path, i, row, "end")
    if start is None or end is None:
        raise BadLabelsError(f"label {i}: start and end are required", path)
    if start < 0 or end < start:
        raise BadLabelsError(f"label {i}: impossible time range {start}..{end}", path)
    confidence = _number(path, i, row, "confidence")
    if confidence is not None and not 0 <= confidence <= 1:
        raise BadLabelsError(f"label {i}: confidence {confidence} is not within 0..1", path)
    return Label(label=name.strip(), start=start, end=end, category=category.strip(), confidence=confidence)


def _number(path: Path, i: int, row: dict[str, Any], key: str) -> float | None:
    raw = row.get(key)
    if raw is None:
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise BadLabelsError(f"label {i}: {key} {raw!r} is not a number", path) from None
    if not math.isfinite(value) or isinstance(raw, bool):
        raise BadLabelsError(f"label {i}: {key} {raw!r} is not a number", path)
    return value

"""The rules a batch of notes must pass before any of it is written.

The caller reads what the batch names (its assets, with every version's duration, and the notes
it replies to) in one read per table, calls :func:`check_notes`, and writes the returned notes
only when it returns: any problem of any note refuses the whole batch, all problems named.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graph_api.workflows.problems import Problems
from graph_api.workflows.regions import check_region, region_json

MAX_TEXT = 10_000  # characters
MAX_BATCH = 1_000
# a time typed from a player's timecode (frame / rate) may exceed a probed duration by float noise
_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class NotedAsset:
    """What the rules need of an asset a note is about."""

    id: str
    title_id: str
    current_version: int
    # seconds, by version; a version missing here (or None) has no known duration: an image, a document
    durations: Mapping[int, float | None]


@dataclass(frozen=True, slots=True)
class RepliedNote:
    """What the rules need of a note that is replied to."""

    id: str
    asset_id: str


@dataclass(frozen=True, slots=True)
class CheckedNote:
    """A note that passed: what the caller writes, with an id, author and time of its own."""

    asset_id: str
    title_id: str
    version: int
    text: str
    start: float | None
    end: float | None
    region: str | None  # canonical JSON text
    reply_to: str | None


def check_notes(inputs: Sequence[Mapping[str, Any]], assets: Mapping[str, NotedAsset],
                replied: Mapping[str, RepliedNote], *, max_batch: int = MAX_BATCH) -> list[CheckedNote]:
    """Check every note of the batch, in order; raise one error naming every problem.

    ``inputs`` are NoteInput rows: ``asset_id``, ``version`` (None: the current one), ``text``,
    ``start``, ``end``, ``region``, ``reply_to``. ``assets`` and ``replied`` hold what the lake
    found of the ids the batch names; an id missing there is unknown (NOT_FOUND).

    A note with a ``start`` and no ``end`` marks one moment: its end is its start.
    """
    problems = Problems("addNotes")
    if not inputs:
        problems.add(None, None, "the batch is empty")
    elif len(inputs) > max_batch:
        problems.add(None, None, f"{len(inputs)} notes exceed the batch maximum of {max_batch}")
    problems.raise_if_any()
    out: list[CheckedNote] = []
    for i, row in enumerate(inputs):
        before = len(problems)
        text = _text(problems, i, row.get("text"))
        asset = _asset(problems, i, row.get("asset_id"), assets)
        version = _version(problems, i, row.get("version"), asset)
        duration = asset.durations.get(version) if asset is not None and version is not None else None
        start, end = _time_range(problems, i, row.get("start"), row.get("end"), duration, version)
        region = check_region(row.get("region"), problems, i)
        reply_to = _reply_to(problems, i, row.get("reply_to"), asset, replied)
        if len(problems) == before and asset is not None and version is not None and text is not None:
            out.append(CheckedNote(asset.id, asset.title_id, version, text, start, end, region_json(region),
                                   reply_to))
    problems.raise_if_any()
    return out


def _text(problems: Problems, i: int, value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.add(i, "text", "is required and must be non-empty text")
        return None
    if len(value) > MAX_TEXT:
        problems.add(i, "text", f"is {len(value)} characters; the maximum is {MAX_TEXT}")
        return None
    return value


def _asset(problems: Problems, i: int, asset_id: Any, assets: Mapping[str, NotedAsset]) -> NotedAsset | None:
    if not isinstance(asset_id, str) or not asset_id:
        problems.add(i, "asset_id", "is required")
        return None
    asset = assets.get(asset_id)
    if asset is None:
        problems.add(i, "asset_id", f"unknown asset {asset_id!r}", "NOT_FOUND")
    return asset


def _version(problems: Problems, i: int, value: Any, asset: NotedAsset | None) -> int | None:
    if value is None:
        return asset.current_version if asset is not None else None
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(i, "version", f"{value!r} is not a version number")
        return None
    if asset is not None and not 1 <= value <= asset.current_version:
        problems.add(i, "version", f"asset {asset.id!r} has no version {value} "
                                   f"(its versions are 1 to {asset.current_version})", "NOT_FOUND")
        return None
    return value


def _time_range(problems: Problems, i: int, start: Any, end: Any, duration: float | None,
                version: int | None) -> tuple[float | None, float | None]:
    if start is None and end is None:
        return None, None
    if start is None:
        problems.add(i, "start", "is required when end is given (a note covers start to end)")
        return None, None
    ok = True
    for name, value in (("start", start), ("end", end)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            problems.add(i, name, f"{value!r} is not a time in seconds")
            ok = False
        elif value < 0:
            problems.add(i, name, f"must be at least 0, got {value}")
            ok = False
    if not ok:
        return None, None
    moment = end is None
    end = start if end is None else end
    if end < start:
        problems.add(i, "end", f"end {end} is before start {start}")
        return None, None
    if duration is not None:
        for name, value in (("start", start),) if moment else (("start", start), ("end", end)):
            if value > duration + _EPS:
                problems.add(i, name, f"{value} is past the end of version {version} of the asset ({duration} s)")
                ok = False
    return (float(start), float(end)) if ok else (None, None)


def _reply_to(problems: Problems, i: int, note_id: Any, asset: NotedAsset | None,
              replied: Mapping[str, RepliedNote]) -> str | None:
    if note_id is None:
        return None
    if not isinstance(note_id, str) or not note_id:
        problems.add(i, "reply_to", f"{note_id!r} is not a note id")
        return None
    parent = replied.get(note_id)
    if parent is None:
        problems.add(i, "reply_to", f"unknown note {note_id!r}", "NOT_FOUND")
        return None
    if asset is not None and parent.asset_id != asset.id:
        # a thread is about one asset (across its versions); replying across assets would split it
        problems.add(i, "reply_to", f"note {note_id!r} is about asset {parent.asset_id!r}, not {asset.id!r}")
        return None
    return note_id

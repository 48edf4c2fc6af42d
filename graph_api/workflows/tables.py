"""The Arrow schemas of the creative-workflow tables (reviews, notes, cuts, playlists), defined once,
and the conversions between their rows and the workflow records.

As in ``graph_api.lake.schemas``: times are ``timestamp[us, UTC]``, JSON-valued columns hold JSON
text, times inside media are seconds from the start of the asset. A review, a note and a
playlist item point at one asset version (``asset_id`` + ``version``). Their id prefixes (rev_,
note_, cut_, pl_) live with every other id kind in ``lineage.model.ID_PREFIXES``.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from graph_api.workflows.cuts import Cut, CutClip

TS = pa.timestamp("us", tz="UTC")

REVIEWS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("asset_id", pa.string(), nullable=False),
        pa.field("version", pa.int32(), nullable=False),
        # denormalised from the asset: reviews(titleId) and access filter without a join
        pa.field("title_id", pa.string(), nullable=False),
        pa.field("decision", pa.string(), nullable=False),
        pa.field("reviewer", pa.string(), nullable=False),
        pa.field("comment", pa.string()),
        pa.field("created_at", TS, nullable=False),
    ]
)

NOTES = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("asset_id", pa.string(), nullable=False),
        pa.field("version", pa.int32(), nullable=False),
        pa.field("title_id", pa.string(), nullable=False),
        pa.field("author", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("start", pa.float64()),  # null: the note is about the whole asset
        pa.field("end", pa.float64()),
        pa.field("region", pa.string()),  # JSON text, as graph_api.workflows.regions checked it
        pa.field("reply_to", pa.string()),
        # the one mutable part of a note (resolveNote): merged on id
        pa.field("resolved", pa.bool_(), nullable=False),
        pa.field("resolved_by", pa.string()),
        pa.field("resolved_at", TS),
        pa.field("created_at", TS, nullable=False),
        pa.field("updated_at", TS, nullable=False),
    ]
)

CLIP = pa.struct(
    [
        pa.field("name", pa.string()),
        pa.field("track", pa.string(), nullable=False),
        pa.field("track_index", pa.int32(), nullable=False),
        pa.field("track_kind", pa.string(), nullable=False),
        pa.field("record_start", pa.float64(), nullable=False),
        pa.field("record_end", pa.float64(), nullable=False),
        pa.field("asset_id", pa.string(), nullable=False),
        pa.field("version", pa.int32(), nullable=False),
        pa.field("source_start", pa.float64(), nullable=False),
        pa.field("source_end", pa.float64(), nullable=False),
        pa.field("rate", pa.float64(), nullable=False),
        pa.field("uri", pa.string()),
        pa.field("asset_duration", pa.float64()),
    ]
)

CUTS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("title_id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("duration", pa.float64(), nullable=False),
        pa.field("rate", pa.float64(), nullable=False),
        pa.field("clips", pa.list_(pa.field("item", CLIP, nullable=False)), nullable=False),
        # each clip asset once: a LABEL_LIST index on it answers Asset.cuts without unnesting clips
        pa.field("asset_ids", pa.list_(pa.string()), nullable=False),
        # the lineage run of the editorial job that recorded the clips' assets as its inputs
        pa.field("run_id", pa.string()),
        pa.field("created_by", pa.string(), nullable=False),
        pa.field("created_at", TS, nullable=False),
    ]
)

PLAYLIST_ITEM = pa.struct(
    [
        pa.field("asset_id", pa.string(), nullable=False),
        pa.field("version", pa.int32(), nullable=False),  # frozen at creation: the current version then
    ]
)

PLAYLISTS = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("title_id", pa.string()),
        pa.field("items", pa.list_(pa.field("item", PLAYLIST_ITEM, nullable=False)), nullable=False),
        pa.field("asset_ids", pa.list_(pa.string()), nullable=False),
        pa.field("created_by", pa.string(), nullable=False),
        pa.field("created_at", TS, nullable=False),
    ]
)

SCHEMAS: dict[str, pa.Schema] = {"reviews": REVIEWS, "notes": NOTES, "cuts": CUTS, "playlists": PLAYLISTS}

_CLIP_FIELDS = tuple(CLIP.field(i).name for i in range(CLIP.num_fields))


def cut_rows(cuts: Sequence[Cut], *, created_by: str, created_at: datetime,
             run_ids: Sequence[str | None] | None = None) -> pa.Table:
    """Rows of the cuts table for cuts that carry their ``id`` and ``title_id``."""
    missing = [i for i, cut in enumerate(cuts) if not cut.id or not cut.title_id]
    if missing:
        raise ValueError(f"cuts {missing} have no id or title_id: give them with dataclasses.replace")
    runs = list(run_ids) if run_ids is not None else [None] * len(cuts)
    return pa.Table.from_pylist(
        [
            {
                "id": cut.id, "title_id": cut.title_id, "name": cut.name, "duration": cut.duration,
                "rate": cut.rate, "clips": [_clip_row(clip) for clip in cut.clips],
                "asset_ids": list(cut.asset_ids), "run_id": run, "created_by": created_by,
                "created_at": created_at,
            }
            for cut, run in zip(cuts, runs, strict=True)
        ],
        schema=CUTS,
    )


def cuts_from_rows(table: pa.Table) -> list[Cut]:
    """The Cut records of rows of the cuts table (any column order; extra columns ignored)."""
    return [cut_from_row(row) for row in table.to_pylist()]


def cut_from_row(row: dict[str, Any]) -> Cut:
    clips = tuple(CutClip(**{name: clip[name] for name in _CLIP_FIELDS}) for clip in row["clips"])
    return Cut(name=row["name"], duration=row["duration"], rate=row["rate"], clips=clips, id=row["id"],
               title_id=row["title_id"])


def _clip_row(clip: CutClip) -> dict[str, Any]:
    return {name: getattr(clip, name) for name in _CLIP_FIELDS}


def playlist_items(asset_versions: Iterable[tuple[str, int]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``items`` and ``asset_ids`` values of a playlist row, items in the order given."""
    pairs = list(asset_versions)
    items: list[dict[str, Any]] = [{"asset_id": asset_id, "version": version} for asset_id, version in pairs]
    return items, list(dict.fromkeys(asset_id for asset_id, _ in pairs))

"""Notes: time-coded text on one asset version, with an optional drawing and a thread
(``reply_to``). A batch is checked whole (``graph_api.workflows.notes``) and written in one
commit; ``resolve`` is the one change a note takes, merged on its id."""
from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa

from graph_api.errors import NotFound
from graph_api.lake import sql
from graph_api.lake.base import IN_CHUNK, Repo, now
from graph_api.lake.ids import new_id
from graph_api.lake.validate import check_strings
from graph_api.workflows.notes import NotedAsset, RepliedNote, check_notes
from graph_api.workflows.tables import NOTES

# (asset id, from, to, resolved): the part of Asset.notes's arguments the scan answers
Window = tuple[str, float | None, float | None, bool | None]
# what pyarrow's to_pylist gives a timestamp[us, tz=UTC] (a ZoneInfo, so rows compare and print the same)
_EPOCH = datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))
_MICROS = pa.timestamp("us", tz="UTC")


def to_rows(table: pa.Table) -> builtins.list[dict[str, Any]]:
    """``table.to_pylist()``, with UTC timestamps converted by integer arithmetic: pyarrow's own
    conversion of a zoned timestamp costs ~4 µs a value, which was most of a 200-note window's
    Python time (three timestamps a note); this costs ~0.5 µs."""
    columns: dict[str, builtins.list[Any]] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if column.type == _MICROS:
            columns[name] = [None if v is None else _EPOCH + timedelta(microseconds=v)
                             for v in column.cast(pa.int64()).to_pylist()]
        else:
            columns[name] = column.to_pylist()
    return [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def overlaps(from_: float | None, to: float | None) -> str | None:
    """Notes overlapping [from, to]; a note without a time range is about the whole asset and
    overlaps every window."""
    bounds = sql.all_of(f"{sql.column('start')} <= {sql.literal(float(to))}" if to is not None else None,
                        f"{sql.column('end')} >= {sql.literal(float(from_))}" if from_ is not None else None)
    return None if bounds is None else f"{sql.column('start')} IS NULL OR ({bounds})"


class Notes(Repo):
    table_name = "notes"
    schema = NOTES

    def by_asset(self, asset_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Every note of each asset (all versions), oldest first."""
        return self.group_by("asset_id", asset_ids)

    def in_windows(self, windows: Sequence[Window]) -> dict[Window, builtins.list[dict[str, Any]]]:
        """The notes (every version) of each window's asset overlapping it, oldest first. The window
        and ``resolved`` are pushed into the scan, one scan per distinct window, so an asset with
        10k notes reads only those a window shows, not all of them."""
        out: dict[Window, builtins.list[dict[str, Any]]] = {w: [] for w in windows}
        by_filter: dict[tuple[float | None, float | None, bool | None], builtins.list[str]] = {}
        for asset_id, from_, to, resolved in out:
            by_filter.setdefault((from_, to, resolved), []).append(asset_id)
        for (from_, to, resolved), asset_ids in by_filter.items():
            for start in range(0, len(asset_ids), IN_CHUNK):
                where = sql.all_of(sql.is_in("asset_id", asset_ids[start : start + IN_CHUNK]), overlaps(from_, to),
                                   sql.eq("resolved", resolved) if resolved is not None else None)
                for row in to_rows(self.scan(where)):
                    out[(row["asset_id"], from_, to, resolved)].append(row)
        for rows in out.values():
            rows.sort(key=lambda r: r["id"])
        return out

    def list(self, *, title_ids: Sequence[str] | None = None, asset_ids: Sequence[str] | None = None,
             resolved: bool | None = None) -> pa.Table:
        """Notes as Arrow, for the Python data API."""
        where = sql.all_of(
            sql.is_in("title_id", title_ids) if title_ids is not None else None,
            sql.is_in("asset_id", asset_ids) if asset_ids is not None else None,
            sql.eq("resolved", resolved) if resolved is not None else None,
        )
        return self.scan(where).sort_by([("asset_id", "ascending"), ("id", "ascending")])

    def add(self, inputs: Sequence[dict[str, Any]], *, author: str) -> builtins.list[dict[str, Any]]:
        """Add a batch of notes atomically: any problem of any note refuses them all."""
        check_strings("addNotes", inputs)
        asset_ids = [r["asset_id"] for r in inputs if isinstance(r.get("asset_id"), str)]
        reply_ids = [r["reply_to"] for r in inputs if isinstance(r.get("reply_to"), str)]
        # every version of each asset in one read: a note may be about an earlier version
        versions = self.view.scan("assets", sql.is_in("id", asset_ids),
                                  columns=["id", "version", "title_id", "is_current", "duration_seconds"]).to_pylist()
        assets: dict[str, NotedAsset] = {}
        for asset_id in dict.fromkeys(r["id"] for r in versions):
            rows = [r for r in versions if r["id"] == asset_id]
            current = next((r for r in rows if r["is_current"]), None)
            if current is None:
                continue
            assets[asset_id] = NotedAsset(asset_id, current["title_id"], current["version"],
                                          {r["version"]: r["duration_seconds"] for r in rows})
        replied = {r["id"]: RepliedNote(r["id"], r["asset_id"]) for r in self.get_many(reply_ids).values()}
        checked = check_notes(inputs, assets, replied, max_batch=self.connection.max_batch)
        stamp = now()
        rows = [
            {"id": new_id("note"), "asset_id": n.asset_id, "version": n.version, "title_id": n.title_id,
             "author": author, "text": n.text, "start": n.start, "end": n.end, "region": n.region,
             "reply_to": n.reply_to, "resolved": False, "resolved_by": None, "resolved_at": None,
             "created_at": stamp, "updated_at": stamp}
            for n in checked
        ]
        with self.connection.write_lock:
            self.connection.add(self.table_name, self.to_table(rows))
        return rows

    def resolve(self, note_id: str, resolved: bool, *, by: str) -> dict[str, Any]:
        """Resolve (or reopen) a note the reader can see; NOT_FOUND otherwise."""
        with self.connection.write_lock:
            row = self.get(note_id)
            if row is None:
                raise NotFound(f"resolveNote: unknown note {note_id!r}", argument="id")
            stamp = now()
            row = {**row, "resolved": resolved, "resolved_by": by if resolved else None,
                   "resolved_at": stamp if resolved else None, "updated_at": stamp}
            self.connection.merge(self.table_name, self.to_table([row]), on="id")
        return row

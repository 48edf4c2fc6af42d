"""Search filters, turned into LanceDB prefilters for the table being searched.

Every filter becomes part of the ``where`` clause LanceDB applies *before* ranking, so a
search returns ``first`` hits whenever that many rows match. Two filters need data the
searched table does not carry; each is resolved with one lake read, then pushed down:

- media type and role, on the segments table (space tables carry them denormalized):
  the matching asset ids;
- annotation labels (present / absent): the subjects the annotations cover. Labels are
  resolved, not denormalized, because annotations arrive after the vectors and dialogue
  they describe, and rewriting a million embedding rows per new flag costs more than one
  indexed read of the annotations per search.

A subject carries a label when an annotation with that label names it (``segment_id``, or
the asset itself), or is an asset-level annotation of its asset whose time range overlaps
it (no time range: the whole asset).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Protocol

import pyarrow as pa

from graph_api.errors import InvalidArgument
from graph_api.lake import sql
from graph_api.lake.schemas import SEGMENT_KINDS
from graph_api.media.kinds import MEDIA_TYPES


@dataclass(frozen=True)
class Filters:
    title_ids: tuple[str, ...] | None = None
    asset_ids: tuple[str, ...] | None = None
    media_types: tuple[str, ...] | None = None
    roles: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    start: float | None = None  # segments ending at or after this time ("from")
    end: float | None = None  # segments starting at or before this time ("to")
    labels: tuple[str, ...] | None = None  # any of these labels present
    without_labels: tuple[str, ...] | None = None  # none of these labels present

    @classmethod
    def of(cls, filters: Filters | None = None, **given: Any) -> Filters:
        known = {f.name for f in fields(cls)}
        unknown = set(given) - known
        if unknown:
            raise TypeError(f"unknown search filters: {', '.join(sorted(unknown))}")
        values = {f.name: getattr(filters, f.name) for f in fields(cls)} if filters else {}
        values.update({k: v for k, v in given.items() if v is not None})
        for name in ("title_ids", "asset_ids", "media_types", "roles", "kinds", "labels", "without_labels"):
            value = values.get(name)
            if isinstance(value, str):
                value = (value,)
            values[name] = None if value is None else tuple(dict.fromkeys(str(v) for v in value))
        result = cls(**values)
        result.validate()
        return result

    def validate(self) -> None:
        for name, allowed in (("kinds", SEGMENT_KINDS), ("media_types", MEDIA_TYPES)):
            bad = [v for v in getattr(self, name) or () if v not in allowed]
            if bad:
                raise InvalidArgument(f"{name}: {', '.join(bad)} not one of {', '.join(allowed)}", field=name)
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or value < 0):
                raise InvalidArgument(f"{'from' if name == 'start' else 'to'} must be a time in seconds >= 0",
                                      field=name)
        if self.start is not None and self.end is not None and self.end < self.start:
            raise InvalidArgument(f"the time range ends ({self.end}) before it starts ({self.start})", field="to")


@dataclass(frozen=True)
class Target:
    """How a searched table names the filter columns."""

    id: str
    kind: str
    denormalized_assets: bool  # carries media_type and role


SPACE = Target(id="subject_id", kind="segment_kind", denormalized_assets=True)
SEGMENTS = Target(id="id", kind="kind", denormalized_assets=False)


@dataclass
class LabelCover:
    """The subjects a set of labels covers (see the module docstring)."""

    subject_ids: set[str]
    whole_assets: set[str]
    timed: set[tuple[str, float, float]]

    def clause(self, target: Target) -> str:
        parts = []
        if self.subject_ids:
            parts.append(sql.is_in(target.id, sorted(self.subject_ids)))
        if self.whole_assets:
            parts.append(sql.is_in("asset_id", sorted(self.whole_assets)))
        for asset_id, start, end in sorted(self.timed):
            # IS NOT NULL keeps the clause two-valued, so NOT (...) excludes exactly what it covers
            parts.append(f"({sql.eq('asset_id', asset_id)} AND `start` IS NOT NULL AND `end` >= {start!r} "
                         f"AND `start` <= {end!r})")
        return " OR ".join(f"({p})" for p in parts) if parts else "FALSE"


def cover(rows: Iterable[dict[str, Any]]) -> LabelCover:
    result = LabelCover(set(), set(), set())
    for row in rows:
        result.subject_ids.add(row["asset_id"])
        if row["segment_id"]:
            result.subject_ids.add(row["segment_id"])
        elif row["start"] is None and row["end"] is None:
            result.whole_assets.add(row["asset_id"])
        else:
            start = row["start"] if row["start"] is not None else 0.0
            end = row["end"] if row["end"] is not None else math.inf
            result.timed.add((row["asset_id"], float(start), float(end) if math.isfinite(end) else 1e300))
    return result


class Scans(Protocol):
    """A repository of the searching view (its reads apply the view's rules)."""

    def scan(self, where: str | None = None, *, columns: list[str] | None = None,
             limit: int | None = None) -> pa.Table: ...


class Resolved:
    """Filters with their lake-side lookups done (at most one read each, shared by every list a
    search ranks), through the searching view's assets and annotations."""

    def __init__(self, filters: Filters, *, assets: Scans, annotations: Scans) -> None:
        self.filters = filters
        self._assets_repo = assets
        self._annotations_repo = annotations
        self._assets: list[str] | None = None
        self._labels: dict[str, list[dict[str, Any]]] | None = None

    def clause(self, target: Target, *, exclude: str | None = None) -> str | None:
        f = self.filters
        parts: list[str | None] = [
            sql.is_in("title_id", f.title_ids) if f.title_ids is not None else None,
            sql.is_in("asset_id", f.asset_ids) if f.asset_ids is not None else None,
            sql.is_in(target.kind, f.kinds) if f.kinds is not None else None,
            f"`start` IS NOT NULL AND `end` >= {float(f.start)!r}" if f.start is not None else None,
            f"`start` IS NOT NULL AND `start` <= {float(f.end)!r}" if f.end is not None else None,
            f"{sql.column(target.id)} <> {sql.literal(exclude)}" if exclude else None,
        ]
        if f.media_types is not None or f.roles is not None:
            if target.denormalized_assets:
                parts.append(sql.is_in("media_type", f.media_types) if f.media_types is not None else None)
                parts.append(sql.is_in("role", f.roles) if f.roles is not None else None)
            else:
                parts.append(sql.is_in("asset_id", self.asset_ids()))
        if f.labels:
            parts.append(self.cover(f.labels).clause(target))
        if f.without_labels:
            parts.append(f"NOT ({self.cover(f.without_labels).clause(target)})")
        return sql.all_of(*parts)

    def asset_ids(self) -> list[str]:
        if self._assets is None:
            f = self.filters
            where = sql.all_of(
                "is_current = TRUE",
                sql.is_in("title_id", f.title_ids) if f.title_ids is not None else None,
                sql.is_in("id", f.asset_ids) if f.asset_ids is not None else None,
                sql.is_in("media_type", f.media_types) if f.media_types is not None else None,
                sql.is_in("role", f.roles) if f.roles is not None else None,
            )
            self._assets = self._assets_repo.scan(where, columns=["id"]).column("id").to_pylist()
        return self._assets

    def cover(self, labels: Sequence[str]) -> LabelCover:
        if self._labels is None:
            self.prefetch_labels(())
        assert self._labels is not None
        return cover(row for label in labels for row in self._labels.get(label, ()))

    def prefetch_labels(self, extra: Sequence[str]) -> None:
        """Read the annotations of every label the filters (and ``extra``) name, in one read."""
        f = self.filters
        wanted = list(dict.fromkeys([*(f.labels or ()), *(f.without_labels or ()), *extra]))
        if self._labels is not None and all(label in self._labels for label in wanted):
            return
        where = sql.all_of(sql.is_in("label", wanted),
                           sql.is_in("title_id", f.title_ids) if f.title_ids is not None else None)
        rows = self._annotations_repo.scan(where, columns=["label", "asset_id", "segment_id", "start", "end",
                                                           "produced_by"]).to_pylist()
        self._labels = {label: [] for label in wanted}
        for row in rows:
            self._labels[row["label"]].append(row)

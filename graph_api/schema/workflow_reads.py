"""What the creative-workflow types compute rather than store: who the caller is, whether a
review or a cut still holds (asked of lineage at read time), which notes a window shows.

Returns rows and plain values, not GraphQL objects, so ``nodes`` imports this and not the other
way round (as ``lineage_types``).
"""
from __future__ import annotations

from enum import Enum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import strawberry
from strawberry.types import Info

from graph_api.schema.context import Context, Row
from graph_api.workflows.reviews import ClipUse, cut_is_stale, review_is_stale

# the reviewer or author with auth off (the contract's "local")
LOCAL = "local"


@strawberry.enum
class ReviewDecision(Enum):
    # graph_api.workflows.reviews.DECISIONS is the source; tests/workflows check they agree
    APPROVED = "APPROVED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    REJECTED = "REJECTED"


def caller_name(info: Info[Context, None]) -> str:
    """The calling token's name; "local" with auth off (no principal on the context)."""
    principal: Any = getattr(info.context, "principal", None)
    if isinstance(principal, str) and principal:
        return principal
    name = getattr(principal, "name", None)
    return name if isinstance(name, str) and name else LOCAL


def _lineage_stale(info: Info[Context, None], asset_id: str) -> bool:
    lineage = info.context.lineage
    return lineage is not None and lineage.is_stale(asset_id)


async def review_stale(info: Info[Context, None], review: Row) -> bool:
    current = await info.context.loaders.asset.load(review["asset_id"])
    if current is None:  # not visible any more: a question of access, not of change
        return False
    # lineage speaks of the current version; an older reviewed version is stale by itself
    return review_is_stale(review["version"], current["version"],
                           review["version"] == current["version"] and _lineage_stale(info, review["asset_id"]))


def reviews_stale(info: Info[Context, None], reviews: pa.Table) -> pa.ChunkedArray | pa.Array:
    """``review_stale`` of each review of ``reviews`` (``Reviews.with_current``'s columns), as one
    Arrow mask: not visible is not stale, a version that moved on is; lineage is asked once, for
    the derived assets whose current version was reviewed (``stale_of``: one lock for the batch)."""
    version, current = reviews.column("version"), reviews.column("current_version")
    same = pc.fill_null(pc.equal(version, current), False)
    moved = pc.and_(pc.is_valid(current), pc.invert(same))
    ask = pc.and_(same, reviews.column("produced"))
    lineage = info.context.lineage
    asked = pc.unique(pc.filter(reviews.column("asset_id"), ask)).to_pylist()
    if lineage is None or not asked:
        return moved
    stale = pa.array(sorted(lineage.stale_of(asked)), pa.string())
    return pc.or_(moved, pc.and_(ask, pc.is_in(reviews.column("asset_id"), value_set=stale)))


async def cut_stale(info: Info[Context, None], cut: Row) -> bool:
    ids = list(cut["asset_ids"])
    rows = await info.context.loaders.asset.load_many(ids)
    current = {r["id"]: r["version"] for r in rows if r}
    lineage = info.context.lineage
    stale = lineage.stale_of(ids) if lineage is not None else frozenset()
    return cut_is_stale((ClipUse(c["asset_id"], c["version"]) for c in cut["clips"]), current, stale)


def notes_in_window(notes: list[Row], version: int, from_: float | None, to: float | None,
                    resolved: bool | None, all_versions: bool) -> list[Row]:
    """Notes of ``version`` (and of earlier ones with ``all_versions``) overlapping [from, to];
    a note without a time range is about the whole asset and overlaps every window."""
    out = []
    for note in notes:
        if note["version"] != version and not (all_versions and note["version"] < version):
            continue
        if resolved is not None and note["resolved"] != resolved:
            continue
        if note["start"] is not None:
            if to is not None and note["start"] > to:
                continue
            if from_ is not None and note["end"] < from_:
                continue
        out.append(note)
    return out


async def latest_review(info: Info[Context, None], asset_id: str, version: int) -> Row | None:
    rows = await info.context.loaders.reviews_by_asset.load(asset_id)
    of_version = [r for r in rows if r["version"] == version]
    return max(of_version, key=lambda r: r["id"]) if of_version else None

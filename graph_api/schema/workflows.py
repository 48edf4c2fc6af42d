"""The creative-workflow root fields: reviewAsset, addNotes, resolveNote, importCut,
createPlaylist; reviews, cut, playlist; and the Playlist types (Review, Note, Cut and Clip live
with Asset in ``nodes``, which lists them).

The reviewer or author is the caller (``workflow_reads.caller_name``); every read goes through
the request's lake view, so a title the caller may not see hides its workflow rows too.
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import strawberry
from strawberry.types import Info
from strawberry.types.unset import UNSET

from graph_api.errors import NotFound
from graph_api.lake.cut_runs import cut_recorder
from graph_api.lake.playlists import descendants
from graph_api.schema.context import Context, Row
from graph_api.schema.idempotency import IdempotencyKey
from graph_api.schema.inputs import to_row
from graph_api.schema.node import Node
from graph_api.schema.nodes import Asset, Cut, Note, Review, Title, _asset
from graph_api.schema.pagination import Connection, by_id, page
from graph_api.schema.scalars import JSON
from graph_api.schema.workflow_reads import ReviewDecision, caller_name, latest_review, reviews_stale
from graph_api.threads import run_sync


@strawberry.input
class ReviewInput:
    asset_id: strawberry.ID
    version: int | None = strawberry.field(default=UNSET, description="defaults to the current version")
    decision: ReviewDecision
    comment: str | None = UNSET


@strawberry.input
class NoteInput:
    asset_id: strawberry.ID
    version: int | None = UNSET
    text: str
    start: float | None = UNSET
    end: float | None = UNSET
    region: JSON | None = UNSET
    reply_to: strawberry.ID | None = UNSET


@strawberry.input
class CutInput:
    title_id: strawberry.ID
    name: str
    otio: str = strawberry.field(description="OpenTimelineIO JSON; a clip's media reference names an asset by its "
                                             "uri or by metadata.mediagraph.assetId")


@strawberry.input
class PlaylistInput:
    name: str
    title_id: strawberry.ID | None = UNSET
    asset_ids: list[strawberry.ID] = strawberry.field(description="asset ids, in order; each at its current version")


@strawberry.type
class PlaylistItem:
    _row: strawberry.Private[Row]
    version: int

    @strawberry.field
    async def asset(self, info: Info[Context, None]) -> Asset:
        return await _asset(info, self._row["asset_id"])

    @strawberry.field(description="the latest review of this asset version, if any")
    async def review(self, info: Info[Context, None]) -> Review | None:
        row = await latest_review(info, self._row["asset_id"], self._row["version"])
        return Review.from_record(row) if row else None


@strawberry.federation.type(keys=["id"])
class Playlist(Node):
    _row: strawberry.Private[Row]
    id: strawberry.ID
    name: str

    @classmethod
    def from_record(cls, row: Row) -> Playlist:
        return cls(_row=row, id=strawberry.ID(row["id"]), name=row["name"])

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], id: strawberry.ID) -> Playlist | None:
        row = await info.context.loaders.playlist.load(id)
        return cls.from_record(row) if row else None

    @strawberry.field
    async def title(self, info: Info[Context, None]) -> Title | None:
        if not self._row["title_id"]:
            return None
        row = await info.context.loaders.title.load(self._row["title_id"])
        return Title.from_record(row) if row else None

    @strawberry.field(description="in playing order, each at the version it was frozen at")
    def items(self) -> list[PlaylistItem]:
        return [PlaylistItem(_row=item, version=item["version"]) for item in self._row["items"]]


def _filtered_reviews(info: Info[Context, None], title_id: str | None, decision: str | None,
                      stale: bool | None) -> pa.Table:
    """The reviews that match, oldest first, in Arrow. The filter runs in Arrow (10k reviews' rows
    as Python dicts, timestamps and all, took ~200 ms), and the resolver turns only the page's rows
    into Python: the page needs no second read of the reviews by id."""
    lake = info.context.lake
    title_ids = sorted(descendants(lake, title_id)) if title_id else None
    reviews = lake.reviews.list(title_ids=title_ids, decision=decision)
    if stale is None or not reviews.num_rows:
        return reviews
    # the assets' current versions in one read, then lineage once for the batch: no read per review
    flags = reviews_stale(info, lake.reviews.with_current(reviews.select(["id", "asset_id", "version"]),
                                                          title_ids=title_ids))
    return reviews.filter(flags if stale else pc.invert(flags))


@strawberry.type
class WorkflowQuery:
    @strawberry.field(description="reviews across a title and the titles below it (or every title the caller "
                                  "sees), oldest first; stale: true answers what was approved and no longer is")
    async def reviews(self, info: Info[Context, None], title_id: strawberry.ID | None = None,
                      decision: ReviewDecision | None = None, stale: bool | None = None, first: int | None = None,
                      after: str | None = None) -> Connection[Review]:
        table = await run_sync(_filtered_reviews, info, title_id, decision.value if decision else None, stale)
        keys = [{"id": review_id, "at": at} for at, review_id in enumerate(table.column("id").to_pylist())]
        positions = page(info, keys, by_id, lambda r: int(r["at"]), first, after)
        rows = table.take(pa.array([e.node for e in positions.edges], pa.int64())).to_pylist()
        return Connection(edges=[e.with_node(Review.from_record(row)) for e, row in zip(positions.edges, rows, strict=True)],
                          page_info=positions.page_info, total_count=positions.total_count)

    @strawberry.field(description="the cuts downstream of this asset in lineage: those that use it or anything "
                                  "derived from it (impact lists the assets); an unknown id is a NOT_FOUND error")
    async def impact_cuts(self, info: Info[Context, None], id: strawberry.ID, first: int | None = None,
                          after: str | None = None) -> Connection[Cut]:
        if await info.context.loaders.asset.load(id) is None:
            raise NotFound(f"unknown asset {id}", id=id)
        lineage = info.context.lineage
        # a cut's lineage inputs are its clips' assets: the cuts downstream are those using the asset or its impact
        ids = [id, *(await run_sync(lineage.impact, id) if lineage is not None else [])]
        found = {r["id"]: r for rows in await info.context.loaders.cuts_by_asset.load_many(ids) for r in rows}
        return page(info, sorted(found.values(), key=by_id), by_id, Cut.from_record, first, after)

    @strawberry.field(description="a cut by id; null for an unknown id")
    async def cut(self, info: Info[Context, None], id: strawberry.ID) -> Cut | None:
        row = await info.context.loaders.cut.load(id)
        return Cut.from_record(row) if row else None

    @strawberry.field(description="a playlist by id; null for an unknown id")
    async def playlist(self, info: Info[Context, None], id: strawberry.ID) -> Playlist | None:
        row = await info.context.loaders.playlist.load(id)
        return Playlist.from_record(row) if row else None


@strawberry.type
class WorkflowMutation:
    @strawberry.mutation(description="record a decision on one asset version (default: the current one); "
                                     "earlier decisions stay as history")
    async def review_asset(self, info: Info[Context, None], input: ReviewInput, idempotency_key: IdempotencyKey = None) -> Review:
        row = await run_sync(info.context.lake.reviews.add, to_row(input), reviewer=caller_name(info))
        return Review.from_record(row)

    @strawberry.mutation(description="add notes atomically: any problem of any note refuses the whole batch")
    async def add_notes(self, info: Info[Context, None], input: list[NoteInput], idempotency_key: IdempotencyKey = None) -> list[Note]:
        rows = await run_sync(info.context.lake.notes.add, [to_row(i) for i in input], author=caller_name(info))
        return [Note.from_record(r) for r in rows]

    @strawberry.mutation(description="resolve a note, or reopen it")
    async def resolve_note(self, info: Info[Context, None], id: strawberry.ID, resolved: bool, idempotency_key: IdempotencyKey = None) -> Note:
        row = await run_sync(info.context.lake.notes.resolve, id, resolved, by=caller_name(info))
        return Note.from_record(row)

    @strawberry.mutation(description="import an OpenTimelineIO timeline as a cut, recorded in lineage as a run "
                                     "of the editorial job whose inputs are its clips' assets")
    async def import_cut(self, info: Info[Context, None], input: CutInput, idempotency_key: IdempotencyKey = None) -> Cut:
        row = await run_sync(info.context.lake.cuts.import_otio, input.title_id, input.name, input.otio,
                             created_by=caller_name(info), record=cut_recorder(info.context.lineage))
        return Cut.from_record(row)

    @strawberry.mutation(description="a playlist of assets in order, each frozen at its current version")
    async def create_playlist(self, info: Info[Context, None], input: PlaylistInput, idempotency_key: IdempotencyKey = None) -> Playlist:
        row = await run_sync(info.context.lake.playlists.create, to_row(input), created_by=caller_name(info))
        return Playlist.from_record(row)

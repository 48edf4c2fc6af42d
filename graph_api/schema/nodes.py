"""The graph's object types. Each holds its record privately (``from_record``); resolvers are
a few lines that go through the request's loaders, lineage and search.

Title, Asset, Segment, Annotation, Embedding, Run and SearchHit refer to one another both
ways (Asset.producedBy -> Run -> Run.inputs -> Asset; Asset.similar -> SearchHit -> asset),
so they live in one module: no lazy types, no imports inside functions. The root fields
(query, lineage_query, search, mutation) import them, never the other way round.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Protocol

import strawberry
from strawberry.types import Info

from graph_api.lake.search import SearchRequest
from graph_api.lake.signing import signer_for
from graph_api.schema.context import Context, Row
from graph_api.schema.enums import MediaType, RunStatus, SegmentKind, TitleKind
from graph_api.schema.lineage_types import (
    Job,
    derivative_ids,
    get_run,
    is_stale,
    job_of,
)
from graph_api.schema.lookahead import MaybeAwaitable, selects, when_loaded
from graph_api.schema.node import Node
from graph_api.schema.pagination import Connection, by_id, by_name, by_time, page
from graph_api.schema.scalars import JSON, Long
from graph_api.schema.workflow_reads import (
    ReviewDecision,
    cut_stale,
    latest_review,
    notes_in_window,
    review_stale,
)
from graph_api.threads import run_sync
from graph_api.workflows.cuts import cut_to_otio
from graph_api.workflows.tables import cut_from_row
from lineage.model import Run as RunRecord

DEFAULT_HITS = 10  # the hits a search or similar returns when first is not given


def _json(text: str | None) -> JSON | None:
    return None if text is None else JSON(json.loads(text))


class _Recorded(Protocol):
    """A type built from a lake row: what the shared resolvers below read."""

    _row: Row


# --- resolvers shared by several types: one implementation each --------------------------------
async def _produced_by(self: _Recorded, info: Info[Context, None]) -> Run | None:
    return await load_run(info, self._row["produced_by"])


async def _embeddings(self: _Recorded, info: Info[Context, None]) -> list[Embedding]:
    rows = await info.context.loaders.embeddings_by_subject.load(self._row["id"])
    return [Embedding.from_record(r) for r in rows]


async def _similar(self: _Recorded, info: Info[Context, None], first: int | None = None,
                   space: str | None = None) -> list[SearchHit]:
    request = SearchRequest(like=self._row["id"], space=space, mode="VECTOR",
                            first=DEFAULT_HITS if first is None else first)
    return await search_hits(info, request)


SIMILAR = "the nearest assets and segments in an embedding space (needed when several hold this)"


async def load_run(info: Info[Context, None], run_id: str | None) -> Run | None:
    run = get_run(info, run_id)
    return Run.from_record(run) if run else None


async def search_hits(info: Info[Context, None], request: SearchRequest) -> list[SearchHit]:
    table = await run_sync(info.context.search.run, request)
    return [SearchHit.from_record(row) for row in table.to_pylist()]


async def _asset(info: Info[Context, None], asset_id: str) -> Asset:
    """An asset another visible row points at (its title or asset is visible with it)."""
    row = await info.context.loaders.asset.load(asset_id)
    assert row is not None, f"{asset_id} is referenced by a visible row"
    return Asset.from_record(row)


async def _title(info: Info[Context, None], title_id: str) -> Title:
    row = await info.context.loaders.title.load(title_id)
    assert row is not None, f"{title_id} is referenced by a visible row"
    return Title.from_record(row)


async def _segment(info: Info[Context, None], segment_id: str | None) -> Segment | None:
    if not segment_id:
        return None
    row = await info.context.loaders.segment.load(segment_id)
    return Segment.from_record(row) if row else None


@strawberry.federation.type(keys=["id"])
class Title(Node):
    _row: strawberry.Private[Row]
    id: strawberry.ID
    name: str
    kind: TitleKind
    external_id: str | None
    release_year: int | None
    restricted: bool

    @classmethod
    def from_record(cls, row: Row) -> Title:
        return cls(_row=row, id=strawberry.ID(row["id"]), name=row["name"], kind=TitleKind(row["kind"]),
                   external_id=row["external_id"], release_year=row["release_year"], restricted=row["restricted"])

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], id: strawberry.ID) -> Title | None:
        row = await info.context.loaders.title.load(id)
        return cls.from_record(row) if row else None

    @strawberry.field
    def created_at(self) -> datetime:
        return self._row["created_at"]

    @strawberry.field
    async def parent(self, info: Info[Context, None]) -> Title | None:
        if not self._row["parent_id"]:
            return None
        row = await info.context.loaders.title.load(self._row["parent_id"])
        return Title.from_record(row) if row else None

    @strawberry.field
    async def children(self, info: Info[Context, None], first: int | None = None,
                       after: str | None = None) -> Connection[Title]:
        rows = await info.context.loaders.titles_by_parent.load(self._row["id"])
        return page(info, rows, by_name, Title.from_record, first, after)

    @strawberry.field
    async def assets(self, info: Info[Context, None], media_type: MediaType | None = None, role: str | None = None,
                     first: int | None = None, after: str | None = None) -> Connection[Asset]:
        loaders = info.context.loaders
        rows = await loaders.assets_by_title.load(self._row["id"])
        rows = [r for r in rows if (media_type is None or r["media_type"] == media_type.value)
                and (role is None or r["role"] == role)]
        loaders.prime_assets(rows)
        connection = page(info, rows, by_id, Asset.from_record, first, after)
        if connection.edges and selects(info, "edges", "node", "annotations"):
            # one batch for the page's assets, so each asset's annotations resolve synchronously
            await loaders.annotations_by_asset.load_many([e.node.id for e in connection.edges])
        return connection


@strawberry.federation.type(keys=["id"])
class Asset(Node):
    _row: strawberry.Private[Row]
    id: strawberry.ID
    media_type: MediaType
    role: str = strawberry.field(description="what the asset is for: source, proxy, frame, subtitle, audio-stem, ...")
    uri: str
    checksum: str | None = strawberry.field(description="sha256:<hex>")
    size_bytes: Long | None
    version: int
    is_current: bool = strawberry.field(description="false for an older version kept readable")
    external_id: str | None
    duration_seconds: float | None
    width: int | None
    height: int | None
    frame_rate: float | None

    @classmethod
    def from_record(cls, row: Row) -> Asset:
        return cls(_row=row, id=strawberry.ID(row["id"]), media_type=MediaType(row["media_type"]), role=row["role"],
                   uri=row["uri"], checksum=row["checksum"], size_bytes=row["size_bytes"], version=row["version"],
                   is_current=row["is_current"], external_id=row["external_id"],
                   duration_seconds=row["duration_seconds"], width=row["width"], height=row["height"],
                   frame_rate=row["frame_rate"])

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], id: strawberry.ID) -> Asset | None:
        row = await info.context.loaders.asset.load(id)
        return cls.from_record(row) if row else None

    @strawberry.field(description="a short-lived signed URL of this version's bytes (/media/{id}, range requests "
                                  "honoured) for a browser's <video> or <img>, which cannot send a bearer header; null when "
                                  "the server cannot read its uri (neither a local path, file:// nor s3://)")
    async def media_url(self, info: Info[Context, None]) -> str | None:
        scheme, sep, _ = self._row["uri"].partition("://")
        if sep and scheme not in ("file", "s3"):
            return None
        settings = info.context.settings
        signer = await run_sync(signer_for, info.context.lake.connection, settings.media_signing_secret,
                                settings.media_url_ttl_seconds)
        return signer.url(self._row["id"], self._row["version"], info.context.principal.token_id)

    @strawberry.field(description="everything the prober found, per stream")
    def technical(self) -> JSON | None:
        return _json(self._row["technical"])

    @strawberry.field
    def created_at(self) -> datetime:
        return self._row["created_at"]

    @strawberry.field
    async def title(self, info: Info[Context, None]) -> Title:
        return await _title(info, self._row["title_id"])

    @strawberry.field(description="every version of this asset, oldest first")
    async def versions(self, info: Info[Context, None]) -> list[Asset]:
        rows = await info.context.loaders.asset_versions.load(self._row["id"])
        return [Asset.from_record(r) for r in rows]

    produced_by = strawberry.field(resolver=_produced_by,
                                   description="the run that derived this asset; null for delivered assets")

    @strawberry.field(description="the direct inputs of producedBy")
    async def derived_from(self, info: Info[Context, None]) -> list[Asset]:
        run = get_run(info, self._row["produced_by"])
        if run is None:
            return []
        rows = await info.context.loaders.asset.load_many([ref.asset_id for ref in run.inputs])
        return [Asset.from_record(r) for r in rows if r]

    @strawberry.field(description="assets whose producing run used this asset directly")
    async def derivatives(self, info: Info[Context, None], role: str | None = None, first: int | None = None,
                          after: str | None = None) -> Connection[Asset]:
        found = await info.context.loaders.asset.load_many(derivative_ids(info, self._row))
        rows = sorted((r for r in found if r and (role is None or r["role"] == role)), key=by_id)
        return page(info, rows, by_id, Asset.from_record, first, after)

    @strawberry.field(description="an input has a newer version, a producing job has a newer version, "
                                  "or an ancestor is stale")
    def stale(self, info: Info[Context, None]) -> bool:
        return is_stale(info, self._row)

    @strawberry.field
    async def segments(self, info: Info[Context, None], kind: SegmentKind | None = None, from_: Annotated[
        float | None, strawberry.argument(name="from")] = None, to: float | None = None,
                       first: int | None = None, after: str | None = None) -> Connection[Segment]:
        rows = await info.context.loaders.segments_by_asset.load(self._row["id"])
        rows = [r for r in rows if (kind is None or r["kind"] == kind.value)
                and (from_ is None or r["end"] >= from_) and (to is None or r["start"] <= to)]
        return page(info, rows, by_time, Segment.from_record, first, after)

    @strawberry.field
    def annotations(self, info: Info[Context, None], label: str | None = None, category: str | None = None,
                    first: int | None = None, after: str | None = None) -> Connection[Annotation]:
        def build(rows: list[Row]) -> Connection[Annotation]:
            rows = [r for r in rows if (label is None or r["label"] == label)
                    and (category is None or r["category"] == category)]
            return page(info, rows, by_id, Annotation.from_record, first, after)

        # sync when the title's page loaded them already (graphql-core's cheap path), else awaited
        found: MaybeAwaitable[Connection[Annotation]] = when_loaded(info.context.loaders.annotations_by_asset,
                                                                     self._row["id"], build)
        return found  # type: ignore[return-value]  # or an awaitable of it, which graphql-core awaits

    embeddings = strawberry.field(resolver=_embeddings)
    similar = strawberry.field(resolver=_similar, description=SIMILAR)

    # --- creative workflows ---------------------------------------------------------------
    @strawberry.field(description="reviews of every version of this asset, oldest first")
    async def reviews(self, info: Info[Context, None], first: int | None = None,
                      after: str | None = None) -> Connection[Review]:
        rows = await info.context.loaders.reviews_by_asset.load(self._row["id"])
        return page(info, rows, by_id, Review.from_record, first, after)

    @strawberry.field(description="the latest review of this version; null when none")
    async def approval(self, info: Info[Context, None]) -> Review | None:
        row = await latest_review(info, self._row["id"], self._row["version"])
        return Review.from_record(row) if row else None

    @strawberry.field(description="notes of this version overlapping [from, to] (a note without a time range "
                                  "overlaps every window); allVersions adds the notes of earlier versions")
    async def notes(self, info: Info[Context, None], from_: Annotated[
        float | None, strawberry.argument(name="from")] = None, to: float | None = None,
                    resolved: bool | None = None, all_versions: bool | None = None, first: int | None = None,
                    after: str | None = None) -> Connection[Note]:
        rows = await info.context.loaders.notes_in_window.load((self._row["id"], from_, to, resolved))
        rows = notes_in_window(rows, self._row["version"], from_, to, resolved, bool(all_versions))
        return page(info, rows, by_id, Note.from_record, first, after)

    @strawberry.field(description="the cuts that use this asset")
    async def cuts(self, info: Info[Context, None], first: int | None = None,
                   after: str | None = None) -> Connection[Cut]:
        rows = await info.context.loaders.cuts_by_asset.load(self._row["id"])
        return page(info, rows, by_id, Cut.from_record, first, after)


@strawberry.federation.type(keys=["id"])
class Segment(Node):
    _row: strawberry.Private[Row]
    id: strawberry.ID
    kind: SegmentKind
    start: float
    end: float
    text: str | None = strawberry.field(description="dialogue line or caption text")

    @classmethod
    def from_record(cls, row: Row) -> Segment:
        return cls(_row=row, id=strawberry.ID(row["id"]), kind=SegmentKind(row["kind"]), start=row["start"],
                   end=row["end"], text=row["text"])

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], id: strawberry.ID) -> Segment | None:
        return await _segment(info, id)

    @strawberry.field
    async def asset(self, info: Info[Context, None]) -> Asset:
        return await _asset(info, self._row["asset_id"])

    @strawberry.field
    async def annotations(self, info: Info[Context, None]) -> list[Annotation]:
        rows = await info.context.loaders.annotations_by_segment.load(self._row["id"])
        return [Annotation.from_record(r) for r in rows]

    embeddings = strawberry.field(resolver=_embeddings)
    similar = strawberry.field(resolver=_similar, description=SIMILAR)
    produced_by = strawberry.field(resolver=_produced_by)


@strawberry.type
class Annotation(Node):
    _row: strawberry.Private[Row]
    id: strawberry.ID
    label: str = strawberry.field(description="smoking, gore, loudness-lufs, ...")
    category: str | None = strawberry.field(description="compliance, audio-quality, ...")
    confidence: float | None
    start: float | None
    end: float | None

    @classmethod
    def from_record(cls, row: Row) -> Annotation:
        return cls(_row=row, id=strawberry.ID(row["id"]), label=row["label"], category=row["category"],
                   confidence=row["confidence"], start=row["start"], end=row["end"])

    @strawberry.field
    def value(self) -> JSON | None:
        return _json(self._row["value"])

    @strawberry.field
    async def asset(self, info: Info[Context, None]) -> Asset:
        return await _asset(info, self._row["asset_id"])

    @strawberry.field
    async def segment(self, info: Info[Context, None]) -> Segment | None:
        return await _segment(info, self._row["segment_id"])

    produced_by = strawberry.field(resolver=_produced_by)


@strawberry.type
class Embedding:
    _row: strawberry.Private[Row]
    space: str
    model: str
    dimension: int

    @classmethod
    def from_record(cls, row: Row) -> Embedding:
        return cls(_row=row, space=row["name"], model=row["model"], dimension=row["dimension"])

    produced_by = strawberry.field(resolver=_produced_by)


@strawberry.federation.type(keys=["id"])
class Run(Node):
    _run: strawberry.Private[RunRecord]
    id: strawberry.ID
    job_version: str | None = strawberry.field(description="the job version this run executed "
                                                           "(Job.version is the job's current version)")
    status: RunStatus
    parameters: JSON | None
    started_at: datetime | None
    ended_at: datetime | None

    @classmethod
    def from_record(cls, run: RunRecord) -> Run:
        return cls(_run=run, id=strawberry.ID(run.id), job_version=run.job_version, status=RunStatus(run.status),
                   parameters=None if run.parameters is None else JSON(run.parameters),
                   started_at=run.started_at, ended_at=run.ended_at)

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], id: strawberry.ID) -> Run | None:
        return await load_run(info, id)

    @strawberry.field
    def job(self, info: Info[Context, None]) -> Job:
        return job_of(info, self._run)

    @strawberry.field
    async def inputs(self, info: Info[Context, None]) -> list[Asset]:
        rows = await info.context.loaders.asset.load_many([ref.asset_id for ref in self._run.inputs])
        return [Asset.from_record(r) for r in rows if r]

    @strawberry.field
    async def outputs(self, info: Info[Context, None], first: int | None = None,
                      after: str | None = None) -> Connection[Asset]:
        rows = await info.context.loaders.asset.load_many([o for o in self._run.outputs if o.startswith("asset_")])
        return page(info, sorted((r for r in rows if r), key=by_id), by_id, Asset.from_record, first, after)


@strawberry.type(description="a time-coded search result: an asset, or a segment of one")
class SearchHit:
    _row: strawberry.Private[Row]
    score: float = strawberry.field(description="higher is better; cosine similarity, BM25, or a fused "
                                                "reciprocal-rank score; comparable within one result only")
    matched: list[str] = strawberry.field(description="the rankings that found this hit: text (dialogue), "
                                                      "label (annotation labels), vector")

    @classmethod
    def from_record(cls, row: Row) -> SearchHit:
        return cls(_row=row, score=row["score"], matched=list(row["matched"]))

    @strawberry.field
    async def title(self, info: Info[Context, None]) -> Title:
        return await _title(info, self._row["title_id"])

    @strawberry.field
    async def asset(self, info: Info[Context, None]) -> Asset:
        return await _asset(info, self._row["asset_id"])

    @strawberry.field(description="null when the hit is a whole asset")
    async def segment(self, info: Info[Context, None]) -> Segment | None:
        return await _segment(info, self._row["segment_id"])


# --- creative workflows: a review or note points at one asset version; a cut is a lineage run's output

@strawberry.federation.type(keys=["id"])
class Review(Node):
    _row: strawberry.Private[Row]
    id: strawberry.ID
    version: int = strawberry.field(description="the asset version that was reviewed")
    decision: ReviewDecision
    reviewer: str
    comment: str | None
    created_at: datetime

    @classmethod
    def from_record(cls, row: Row) -> Review:
        return cls(_row=row, id=strawberry.ID(row["id"]), version=row["version"],
                   decision=ReviewDecision(row["decision"]), reviewer=row["reviewer"], comment=row["comment"],
                   created_at=row["created_at"])

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], id: strawberry.ID) -> Review | None:
        row = await info.context.loaders.review.load(id)
        return cls.from_record(row) if row else None

    @strawberry.field
    async def asset(self, info: Info[Context, None]) -> Asset:
        return await _asset(info, self._row["asset_id"])

    @strawberry.field(description="the reviewed version is no longer current, or something it was derived "
                                  "from has changed since")
    async def stale(self, info: Info[Context, None]) -> bool:
        return await review_stale(info, self._row)


@strawberry.federation.type(keys=["id"])
class Note(Node):
    _row: strawberry.Private[Row]
    id: strawberry.ID
    version: int
    author: str
    text: str
    start: float | None = strawberry.field(description="time-coded: seconds from the start of the asset; "
                                                       "null for the whole asset")
    end: float | None
    resolved: bool
    created_at: datetime

    @classmethod
    def from_record(cls, row: Row) -> Note:
        return cls(_row=row, id=strawberry.ID(row["id"]), version=row["version"], author=row["author"],
                   text=row["text"], start=row["start"], end=row["end"], resolved=row["resolved"],
                   created_at=row["created_at"])

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], id: strawberry.ID) -> Note | None:
        row = await info.context.loaders.note.load(id)
        return cls.from_record(row) if row else None

    @strawberry.field(description="a drawing on the frame: shapes in normalized [0,1] coordinates")
    def region(self) -> JSON | None:
        return _json(self._row["region"])

    @strawberry.field
    async def asset(self, info: Info[Context, None]) -> Asset:
        return await _asset(info, self._row["asset_id"])

    @strawberry.field
    async def reply_to(self, info: Info[Context, None]) -> Note | None:
        if not self._row["reply_to"]:
            return None
        row = await info.context.loaders.note.load(self._row["reply_to"])
        return Note.from_record(row) if row else None


@strawberry.type
class Clip:
    _row: strawberry.Private[Row]
    name: str | None
    track: str
    record_start: float = strawberry.field(description="position in the cut, seconds")
    record_end: float
    version: int = strawberry.field(description="the asset version that was cut in")
    source_start: float = strawberry.field(description="the range of the asset used, seconds")
    source_end: float

    @classmethod
    def from_record(cls, row: Row) -> Clip:
        return cls(_row=row, name=row["name"], track=row["track"], record_start=row["record_start"],
                   record_end=row["record_end"], version=row["version"], source_start=row["source_start"],
                   source_end=row["source_end"])

    @strawberry.field
    async def asset(self, info: Info[Context, None]) -> Asset:
        return await _asset(info, self._row["asset_id"])


@strawberry.federation.type(keys=["id"])
class Cut(Node):
    _row: strawberry.Private[Row]
    id: strawberry.ID
    name: str
    duration: float

    @classmethod
    def from_record(cls, row: Row) -> Cut:
        return cls(_row=row, id=strawberry.ID(row["id"]), name=row["name"], duration=row["duration"])

    @classmethod
    async def resolve_reference(cls, info: Info[Context, None], id: strawberry.ID) -> Cut | None:
        row = await info.context.loaders.cut.load(id)
        return cls.from_record(row) if row else None

    @strawberry.field
    async def title(self, info: Info[Context, None]) -> Title:
        return await _title(info, self._row["title_id"])

    @strawberry.field
    def clips(self) -> list[Clip]:
        return [Clip.from_record(c) for c in self._row["clips"]]

    @strawberry.field(description="the cut as OpenTimelineIO JSON")
    def otio(self) -> str:
        return cut_to_otio(cut_from_row(self._row))

    @strawberry.field(description="a clip's asset has a newer version than the one cut in, or is stale")
    async def stale(self, info: Info[Context, None]) -> bool:
        return await cut_stale(info, self._row)

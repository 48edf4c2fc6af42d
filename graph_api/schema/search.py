"""Search in GraphQL: ``Query.search`` and ``similar`` on Asset and Segment.

Resolvers translate arguments into a ``graph_api.lake.search.SearchRequest``; the ranking,
the prefilters and the checks live in the lake. A hit's title, asset and segment come
through the request's DataLoaders, so a page of hits costs the same few reads as one hit.
"""
from __future__ import annotations

from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from graph_api.errors import InvalidArgument
from graph_api.lake.ids import prefix_of
from graph_api.lake.search import SearchRequest
from graph_api.lake.search_filters import Filters
from graph_api.schema.enums import MediaType, SegmentKind
from graph_api.schema.nodes import Asset, Segment, Title

DEFAULT_FIRST = 10


@strawberry.enum(description="which rankings a search fuses")
class SearchMode(Enum):
    AUTO = "AUTO"
    TEXT = "TEXT"
    VECTOR = "VECTOR"
    HYBRID = "HYBRID"


@strawberry.type(description="a time-coded search result: an asset, or a segment of one")
class SearchHit:
    _row: strawberry.Private[dict[str, Any]]
    score: float = strawberry.field(description="higher is better; cosine similarity, BM25, or a fused "
                                                "reciprocal-rank score; comparable within one result only")
    matched: list[str] = strawberry.field(description="the rankings that found this hit: text (dialogue), "
                                                      "label (annotation labels), vector")

    @classmethod
    def from_record(cls, row: dict[str, Any]) -> SearchHit:
        return cls(_row=row, score=row["score"], matched=list(row["matched"]))

    @strawberry.field
    async def title(self, info: Info) -> Title:
        return Title.from_record(await info.context.loaders.title.load(self._row["title_id"]))

    @strawberry.field
    async def asset(self, info: Info) -> Asset:
        return Asset.from_record(await info.context.loaders.asset.load(self._row["asset_id"]))

    @strawberry.field(description="null when the hit is a whole asset")
    async def segment(self, info: Info) -> Segment | None:
        if not self._row["segment_id"]:
            return None
        row = await info.context.loaders.segment.load(self._row["segment_id"])
        return Segment.from_record(row) if row else None


async def run_search(info: Info, request: SearchRequest) -> list[SearchHit]:
    context = info.context
    search = context.lake.search
    if search.max_first != context.settings.max_page_size:
        search = type(search)(context.lake, context.settings.max_page_size)
    table = await context.run(search.run, request)
    return [SearchHit.from_record(row) for row in table.to_pylist()]


async def similar(info: Info, subject_id: str, first: int | None, space: str | None) -> list[SearchHit]:
    return await run_search(info, SearchRequest(like=subject_id, space=space, mode="VECTOR",
                                                first=DEFAULT_FIRST if first is None else first))


@strawberry.type
class SearchQuery:
    @strawberry.field(description=(
        "search dialogue, annotation labels and embeddings. text: full-text (words, +must, -must-not, "
        "\"phrases\"), also embedded by the space's text model when it has one; vector, likeSegment or likeAsset: "
        "nearest neighbours in space. Several rankings are fused by reciprocal rank. Every filter is applied "
        "before ranking, so first hits come back whenever that many match."))
    async def search(
        self,
        info: Info,
        text: str | None = None,
        vector: list[float] | None = None,
        space: str | None = None,
        like_segment: strawberry.ID | None = None,
        kinds: list[SegmentKind] | None = None,
        title_ids: list[strawberry.ID] | None = None,
        first: int | None = None,
        like_asset: strawberry.ID | None = None,
        media_type: MediaType | None = None,
        roles: list[str] | None = None,
        from_: Annotated[float | None, strawberry.argument(
            name="from", description="segments ending at or after this time (seconds)")] = None,
        to: Annotated[float | None, strawberry.argument(
            description="segments starting at or before this time (seconds)")] = None,
        labels: Annotated[list[str] | None, strawberry.argument(
            description="subjects carrying any of these annotation labels")] = None,
        without_labels: Annotated[list[str] | None, strawberry.argument(
            description="subjects carrying none of these annotation labels")] = None,
        mode: SearchMode = SearchMode.AUTO,
    ) -> list[SearchHit]:
        if like_segment is not None and like_asset is not None:
            raise InvalidArgument("give likeSegment or likeAsset, not both", field="likeAsset")
        for name, value, prefix in (("likeSegment", like_segment, "seg"), ("likeAsset", like_asset, "asset")):
            if value is not None and prefix_of(value) != prefix:
                raise InvalidArgument(f"{name}: {value!r} is not a{'n' if prefix == 'asset' else ''} "
                                      f"{'asset' if prefix == 'asset' else 'segment'} id", field=name)
        filters = Filters.of(
            title_ids=title_ids, kinds=[k.value for k in kinds] if kinds is not None else None,
            media_types=[media_type.value] if media_type is not None else None, roles=roles,
            start=from_, end=to, labels=labels, without_labels=without_labels)
        request = SearchRequest(text=text, vector=vector, space=space, like=like_segment or like_asset,
                                mode=mode.value, first=DEFAULT_FIRST if first is None else first, filters=filters)
        return await run_search(info, request)

"""Search in GraphQL: ``Query.search`` (``SearchHit`` and ``similar`` live with the types in nodes).

Resolvers translate arguments into a ``graph_api.lake.search.SearchRequest``; the ranking,
the prefilters and the checks live in the lake. A hit's title, asset and segment come
through the request's DataLoaders, so a page of hits costs the same few reads as one hit.
"""
from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from graph_api.errors import InvalidArgument
from graph_api.lake.ids import prefix_of
from graph_api.lake.search import SearchRequest
from graph_api.lake.search_filters import Filters
from graph_api.schema.context import Context
from graph_api.schema.enums import MediaType, SegmentKind
from graph_api.schema.nodes import DEFAULT_HITS, SearchHit, search_hits


@strawberry.enum(description="which rankings a search fuses")
class SearchMode(Enum):
    AUTO = "AUTO"
    TEXT = "TEXT"
    VECTOR = "VECTOR"
    HYBRID = "HYBRID"


@strawberry.type
class SearchQuery:
    @strawberry.field(description=(
        "search dialogue, annotation labels and embeddings. text: full-text (words, +must, -must-not, "
        "\"phrases\"), also embedded by the space's text model when it has one; vector, likeSegment or likeAsset: "
        "nearest neighbours in space. Several rankings are fused by reciprocal rank. Every filter is applied "
        "before ranking, so first hits come back whenever that many match."))
    async def search(
        self,
        info: Info[Context, None],
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
                                mode=mode.value, first=DEFAULT_HITS if first is None else first, filters=filters)
        return await search_hits(info, request)

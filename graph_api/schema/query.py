"""Root query fields of the lake: node, titles and assets.

Lookups by id return null for an id that does not exist or that the caller may not see
(the package's rule for ids, in graph_api.schema).
"""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph_api.lake.ids import prefix_of
from graph_api.schema.context import Context
from graph_api.schema.enums import TitleKind
from graph_api.schema.node import Node
from graph_api.schema.nodes import Annotation, Asset, Cut, Note, Review, Segment, Title, load_run
from graph_api.schema.pagination import Connection, by_name, page
from graph_api.schema.workflows import Playlist, WorkflowQuery
from graph_api.threads import run_sync


@strawberry.type
class LakeQuery(WorkflowQuery):
    @strawberry.field(description="any object by id; the id's prefix says its type; null for an unknown id")
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        loaders = info.context.loaders
        kind = prefix_of(id)
        if kind == "title":
            row = await loaders.title.load(id)
            return Title.from_record(row) if row else None
        if kind == "asset":
            row = await loaders.asset.load(id)
            return Asset.from_record(row) if row else None
        if kind == "seg":
            row = await loaders.segment.load(id)
            return Segment.from_record(row) if row else None
        if kind == "ann":
            row = await loaders.annotation.load(id)
            return Annotation.from_record(row) if row else None
        if kind == "run":
            return await load_run(info, id)
        return await _workflow_node(info, kind, id)

    @strawberry.field(description="a title by id; null for an unknown id")
    async def title(self, info: Info[Context, None], id: strawberry.ID) -> Title | None:
        row = await info.context.loaders.title.load(id)
        return Title.from_record(row) if row else None

    @strawberry.field(description="titles sorted by name; search matches any part of the name, ignoring case")
    async def titles(self, info: Info[Context, None], search: str | None = None, kind: TitleKind | None = None,
                     first: int | None = None, after: str | None = None) -> Connection[Title]:
        table = await run_sync(info.context.lake.titles.list, search=search, kind=kind.value if kind else None)
        rows = table.to_pylist()
        for row in rows:
            info.context.loaders.title.prime(row["id"], row)
        return page(info, rows, by_name, Title.from_record, first, after)

    @strawberry.field(description="an asset's current version, or the given version; null for an unknown id or version")
    async def asset(self, info: Info[Context, None], id: strawberry.ID, version: int | None = None) -> Asset | None:
        if version is None:
            row = await info.context.loaders.asset.load(id)
        else:
            row = await run_sync(info.context.lake.assets.get_version, id, version)
        return Asset.from_record(row) if row else None


async def _workflow_node(info: Info[Context, None], kind: str | None, id: str) -> Node | None:
    loaders = info.context.loaders
    if kind == "rev":
        row = await loaders.review.load(id)
        return Review.from_record(row) if row else None
    if kind == "note":
        row = await loaders.note.load(id)
        return Note.from_record(row) if row else None
    if kind == "cut":
        row = await loaders.cut.load(id)
        return Cut.from_record(row) if row else None
    if kind == "pl":
        row = await loaders.playlist.load(id)
        return Playlist.from_record(row) if row else None
    return None

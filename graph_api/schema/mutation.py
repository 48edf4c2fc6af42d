"""Root mutations of the lake. Each takes a batch and writes it atomically, or nothing."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph_api.schema.inputs import AnnotationInput, AssetInput, EmbeddingInput, SegmentInput, TitleInput, to_row
from graph_api.schema.nodes import Annotation, Asset, Segment, Title


@strawberry.type
class LakeMutation:
    @strawberry.mutation
    async def create_title(self, info: Info, input: TitleInput) -> Title:
        rows = await info.context.run(info.context.lake.titles.create, [to_row(input)])
        return Title.from_record(rows[0])

    @strawberry.mutation(description="register delivered assets; an asset whose externalId is known is updated, "
                                     "and becomes a new version when its checksum changed")
    async def register_assets(self, info: Info, input: list[AssetInput]) -> list[Asset]:
        rows = await info.context.run(info.context.lake.assets.register, [to_row(i) for i in input])
        lineage = info.context.lineage
        if lineage is not None:
            await info.context.run(lineage.note_assets, rows)
        return [Asset.from_record(r) for r in rows]

    @strawberry.mutation
    async def add_segments(self, info: Info, input: list[SegmentInput]) -> list[Segment]:
        rows = await info.context.run(info.context.lake.segments.add, [to_row(i) for i in input])
        return [Segment.from_record(r) for r in rows]

    @strawberry.mutation
    async def add_annotations(self, info: Info, input: list[AnnotationInput]) -> list[Annotation]:
        rows = await info.context.run(info.context.lake.annotations.add, [to_row(i) for i in input])
        return [Annotation.from_record(r) for r in rows]

    @strawberry.mutation(description="creates the space on first use with the vectors' dimension; returns rows written")
    async def upsert_embeddings(self, info: Info, space: str, model: str, input: list[EmbeddingInput]) -> int:
        return await info.context.run(info.context.lake.embeddings.upsert, space, model, [to_row(i) for i in input])

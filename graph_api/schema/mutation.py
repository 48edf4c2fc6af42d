"""Root mutations of the lake. Each takes a batch and writes it atomically, or nothing.

Every mutation takes an ``idempotencyKey``: the ``Idempotency`` extension answers a retry before the
resolver runs, so the resolvers never read it."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph_api.schema.context import Context
from graph_api.schema.idempotency import IdempotencyKey
from graph_api.schema.inputs import (
    AnnotationInput,
    AssetInput,
    EmbeddingInput,
    SegmentInput,
    TitleInput,
    to_row,
)
from graph_api.schema.nodes import Annotation, Asset, Segment, Title
from graph_api.schema.workflows import WorkflowMutation
from graph_api.threads import run_sync


@strawberry.type
class LakeMutation(WorkflowMutation):
    @strawberry.mutation
    async def create_title(self, info: Info[Context, None], input: TitleInput,
                            idempotency_key: IdempotencyKey = None) -> Title:
        rows = await run_sync(info.context.lake.titles.create, [to_row(input)])
        return Title.from_record(rows[0])

    @strawberry.mutation(description="register delivered assets; an asset whose externalId is known is updated, "
                                     "and becomes a new version when its checksum changed")
    async def register_assets(self, info: Info[Context, None], input: list[AssetInput],
                            idempotency_key: IdempotencyKey = None) -> list[Asset]:
        rows = await run_sync(info.context.lake.assets.register, [to_row(i) for i in input])
        lineage = info.context.lineage
        if lineage is not None:
            await run_sync(lineage.note_assets, rows)
        return [Asset.from_record(r) for r in rows]

    @strawberry.mutation
    async def add_segments(self, info: Info[Context, None], input: list[SegmentInput],
                            idempotency_key: IdempotencyKey = None) -> list[Segment]:
        rows = await run_sync(info.context.lake.segments.add, [to_row(i) for i in input])
        await _attach(info, [(r["produced_by"], r["id"]) for r in rows])
        return [Segment.from_record(r) for r in rows]

    @strawberry.mutation
    async def add_annotations(self, info: Info[Context, None], input: list[AnnotationInput],
                            idempotency_key: IdempotencyKey = None) -> list[Annotation]:
        rows = await run_sync(info.context.lake.annotations.add, [to_row(i) for i in input])
        await _attach(info, [(r["produced_by"], r["id"]) for r in rows])
        return [Annotation.from_record(r) for r in rows]

    @strawberry.mutation(description="creates the space on first use with the vectors' dimension; returns rows written")
    async def upsert_embeddings(self, info: Info[Context, None], space: str, model: str, input: list[EmbeddingInput],
                            idempotency_key: IdempotencyKey = None) -> int:
        rows = [to_row(i) for i in input]
        written = await run_sync(info.context.lake.embeddings.upsert, space, model, rows)
        await _attach(info, [(r.get("run_id"), f"emb:{space}:{r['subject_id']}") for r in rows])
        return written


async def _attach(info: Info[Context, None], produced: list[tuple[str | None, str]]) -> None:
    """Outputs that name the run that produced them join that run in the lineage."""
    lineage = info.context.lineage
    if lineage is None:
        return
    by_run: dict[str, list[str]] = {}
    for run_id, output_id in produced:
        if run_id:
            by_run.setdefault(run_id, []).append(output_id)
    for run_id, outputs in by_run.items():
        await run_sync(lineage.attach_outputs, run_id, outputs)

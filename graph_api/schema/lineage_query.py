"""Lineage queries and mutations: recordRun, run, lineage, provenance, impact, staleness, jobs.

Unknown ids follow the package's rule (graph_api.schema): ``run`` returns null; the traversals
raise NOT_FOUND naming the id, also for an id the caller's view hides.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry.types import Info

from graph_api.errors import NotFound, Unavailable
from graph_api.lake.lineage_view import LineageView, is_redacted
from graph_api.schema.context import Context, Row
from graph_api.schema.enums import LineageDirection
from graph_api.schema.idempotency import IdempotencyKey
from graph_api.schema.inputs import RunInput, to_row
from graph_api.schema.lineage_types import Job
from graph_api.schema.nodes import Annotation, Asset, Cut, Run, Segment, Title, load_run
from graph_api.schema.pagination import Connection, by_id, page
from graph_api.schema.scalars import JSON
from graph_api.threads import run_sync
from lineage.model import id_kind


@strawberry.type(description="an embedding in the lineage: the vector of a subject in a space")
class EmbeddingRef:
    id: strawberry.ID
    space: str
    subject_id: strawberry.ID


@strawberry.type(description="a lineage node the caller may not see")
class Redacted:
    id: strawberry.ID = strawberry.field(description="opaque: stands for the node within this response only")


# a cut is a lineage node: the output of its editorial run
Entity = Asset | Run | Segment | Annotation | EmbeddingRef | Cut | Redacted
LineageEntity = Annotated[Entity, strawberry.union("LineageEntity")]


@strawberry.type
class LineageNode:
    entity: LineageEntity
    degree: int = strawberry.field(description="hops from the root")


@strawberry.type
class LineageEdge:
    from_: strawberry.ID = strawberry.field(name="from")
    to: strawberry.ID


@strawberry.type
class LineageGraph:
    root: strawberry.ID
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    is_partial: bool = strawberry.field(description="true when maxDepth or limit cut the traversal")


@strawberry.type
class InputVersion:
    asset: Asset
    version: int = strawberry.field(description="the version the run read")
    current_version: int


@strawberry.type(description="one run of a recipe, with everything needed to replay it")
class ProvenanceStep:
    run: Run
    job: Job
    job_version: str | None
    parameters: JSON | None
    inputs: list[InputVersion]
    outputs: list[Asset]


@strawberry.type
class Provenance:
    asset: Asset
    sources: list[Asset] = strawberry.field(description="the delivered assets the recipe starts from")
    steps: list[ProvenanceStep] = strawberry.field(description="in topological order: replay them in this order")


@strawberry.type
class ImpactGroup:
    title: Title
    role: str
    assets: list[Asset]


@strawberry.type
class StaleAsset:
    asset: Asset
    reasons: list[str]


def _lineage(info: Info[Context, None]) -> LineageView:
    lineage = info.context.lineage
    if lineage is None:
        raise Unavailable("lineage is not attached to this lake")
    return lineage


async def _assets(info: Info[Context, None], ids: list[str]) -> dict[str, Row]:
    rows = await info.context.loaders.asset.load_many(ids)
    return {r["id"]: r for r in rows if r}


async def _entities(info: Info[Context, None], ids: list[str]) -> dict[str, Entity]:
    """Lineage node ids as GraphQL objects, loaded in one batch per kind; invisible ones are left out."""
    loaders = info.context.loaders
    by_kind: dict[str, list[str]] = {}
    for node_id in ids:
        kind = "redacted" if is_redacted(node_id) else id_kind(node_id)
        if kind is not None:  # anything else is no id the lake made: unknown
            by_kind.setdefault(kind, []).append(node_id)
    out: dict[str, Entity] = {}
    for row in await loaders.asset.load_many(by_kind.get("asset", [])):
        if row:
            out[row["id"]] = Asset.from_record(row)
    for row in await loaders.segment.load_many(by_kind.get("segment", [])):
        if row:
            out[row["id"]] = Segment.from_record(row)
    for row in await loaders.annotation.load_many(by_kind.get("annotation", [])):
        if row:
            out[row["id"]] = Annotation.from_record(row)
    for row in await loaders.cut.load_many(by_kind.get("cut", [])):
        if row:
            out[row["id"]] = Cut.from_record(row)
    for run_id in by_kind.get("run", []):
        run = await load_run(info, run_id)
        if run:
            out[run_id] = run
    for redacted in by_kind.get("redacted", []):
        out[redacted] = Redacted(id=strawberry.ID(redacted))
    lineage = info.context.lineage
    for emb in by_kind.get("embedding", []):
        if lineage is None or not lineage.known(emb):
            continue  # an embedding is a lineage node once a run produced it
        _, space, subject = emb.split(":", 2)
        out[emb] = EmbeddingRef(id=strawberry.ID(emb), space=space, subject_id=strawberry.ID(subject))
    return out


async def _require_root(info: Info[Context, None], node_id: str) -> None:
    """A traversal starts from something the caller can see; anything else is unknown to it."""
    if is_redacted(node_id) or node_id not in await _entities(info, [node_id]):
        raise NotFound(f"unknown lineage node {node_id}", id=node_id)


async def _require_assets(info: Info[Context, None], asset_ids: list[str]) -> None:
    found = await _assets(info, asset_ids)
    for asset_id in asset_ids:
        if asset_id not in found:
            raise NotFound(f"unknown asset {asset_id}", id=asset_id)


@strawberry.type
class LineageQuery:
    @strawberry.field(description="a run by id; null for an unknown id")
    async def run(self, info: Info[Context, None], id: strawberry.ID) -> Run | None:
        return await load_run(info, id)

    @strawberry.field
    def jobs(self, info: Info[Context, None]) -> list[Job]:
        lineage = _lineage(info)
        return [Job(namespace=j.namespace, name=j.name, version=j.version)
                for j in lineage.jobs()]

    @strawberry.field(description="the lineage around an asset, run, segment or annotation: DataHub's shape, "
                                  "bounded by maxDepth and limit; asOf ignores runs recorded after it; "
                                  "an unknown id is a NOT_FOUND error")
    async def lineage(self, info: Info[Context, None], id: strawberry.ID, direction: LineageDirection | None = None,
                      max_depth: int | None = None, limit: int | None = None,
                      as_of: datetime | None = None) -> LineageGraph:
        lineage = _lineage(info)
        await _require_root(info, id)
        traversal = await run_sync(
            lineage.traverse, id, (direction or LineageDirection.BOTH).value,
            10 if max_depth is None else max_depth, 1000 if limit is None else limit, as_of)
        entities = await _entities(info, [n for n, _ in traversal.nodes])
        nodes = [LineageNode(entity=entities[n], degree=d) for n, d in traversal.nodes if n in entities]
        edges = [LineageEdge(from_=strawberry.ID(a), to=strawberry.ID(b)) for a, b in traversal.edges
                 if a in entities and b in entities]
        return LineageGraph(root=strawberry.ID(traversal.root), nodes=nodes, edges=edges,
                            is_partial=traversal.is_partial)

    @strawberry.field(description="the full recipe of an asset back to its delivered sources; "
                                  "an unknown id is a NOT_FOUND error")
    async def provenance(self, info: Info[Context, None], id: strawberry.ID,
                         as_of: datetime | None = None) -> Provenance | None:
        lineage = _lineage(info)
        root = await info.context.loaders.asset.load(id)
        if root is None:
            raise NotFound(f"unknown asset {id}", id=id)
        steps, sources = await run_sync(lineage.provenance, id, as_of)
        ids = sorted({ref.asset_id for s in steps for ref in s.inputs} | {o for s in steps for o in s.outputs
                                                                          if o.startswith("asset_")} | set(sources))
        assets = await _assets(info, ids)
        out = []
        for step in steps:
            run = await load_run(info, step.run_id)
            if run is None:
                raise NotFound(f"unknown run {step.run_id}", id=step.run_id)
            job = lineage.job(step.job_namespace, step.job_name)
            out.append(ProvenanceStep(
                run=run, job=Job(namespace=step.job_namespace, name=step.job_name,
                                 version=job.version if job else step.job_version),
                job_version=step.job_version, parameters=cast(JSON | None, step.parameters),
                inputs=[InputVersion(asset=Asset.from_record(assets[r.asset_id]), version=r.version,
                                     current_version=assets[r.asset_id]["version"])
                        for r in step.inputs if r.asset_id in assets],
                outputs=[Asset.from_record(assets[o]) for o in step.outputs if o in assets]))
        return Provenance(asset=Asset.from_record(root), steps=out,
                          sources=[Asset.from_record(assets[s]) for s in sources if s in assets])

    @strawberry.field(description="every asset downstream of this one; an unknown id is a NOT_FOUND error")
    async def impact(self, info: Info[Context, None], id: strawberry.ID, first: int | None = None,
                     after: str | None = None) -> Connection[Asset]:
        lineage = _lineage(info)
        await _require_root(info, id)
        ids = await run_sync(lineage.impact, id)
        rows = sorted((await _assets(info, ids)).values(), key=by_id)
        return page(info, rows, by_id, Asset.from_record, first, after)

    @strawberry.field(description="impact grouped by title and role; an unknown id is a NOT_FOUND error")
    async def impact_groups(self, info: Info[Context, None], id: strawberry.ID) -> list[ImpactGroup]:
        lineage = _lineage(info)
        await _require_root(info, id)
        groups = await run_sync(lineage.impact_groups, id)
        assets = await _assets(info, [a for g in groups for a in g[2]])
        titles = {r["id"]: r for r in await info.context.loaders.title.load_many(sorted({g[0] for g in groups})) if r}
        return [ImpactGroup(title=Title.from_record(titles[t]), role=role,
                            assets=[Asset.from_record(assets[a]) for a in ids if a in assets])
                for t, role, ids in groups if t in titles]

    @strawberry.field(description="derived assets that must be recomputed, under root when given; "
                                  "an unknown root is a NOT_FOUND error")
    async def stale_assets(self, info: Info[Context, None], under: Annotated[strawberry.ID | None, strawberry.argument(
            name="root", description="only assets downstream of this one")] = None) -> list[StaleAsset]:
        lineage = _lineage(info)
        if under is not None:
            await _require_root(info, under)
        stale = await run_sync(lineage.stale_assets, under)
        assets = await _assets(info, [a for a, _ in stale])
        return [StaleAsset(asset=Asset.from_record(assets[a]), reasons=reasons) for a, reasons in stale
                if a in assets]

    @strawberry.field(description="the runs to redo, in topological order, to bring these assets "
                                  "(or every stale asset) up to date; an unknown id is a NOT_FOUND error")
    async def recompute_plan(self, info: Info[Context, None], ids: list[strawberry.ID] | None = None) -> list[Run]:
        lineage = _lineage(info)
        if ids is not None:
            await _require_assets(info, list(ids))
        run_ids = await run_sync(lineage.recompute_plan, ids)
        runs = [await load_run(info, r) for r in run_ids]
        return [r for r in runs if r]


@strawberry.type
class LineageMutation:
    @strawberry.mutation(description="record how assets were derived: the run, its inputs (at their current "
                                     "versions) and its new output assets, atomically")
    async def record_run(self, info: Info[Context, None], input: RunInput) -> Run:
        lineage = _lineage(info)
        recorded = await run_sync(lineage.record_run, to_row(input))
        return Run.from_record(recorded.run)

    @strawberry.mutation(description="set a job's current version: runs of other versions become stale")
    async def set_job_version(self, info: Info[Context, None], namespace: str, name: str, version: str | None,
                              idempotency_key: IdempotencyKey = None) -> Job:
        lineage = _lineage(info)
        job = await run_sync(lineage.set_job_version, namespace, name, version)
        return Job(namespace=job.namespace, name=job.name, version=job.version)

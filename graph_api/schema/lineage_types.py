"""Lineage in GraphQL: Job, Run, and the lineage-owned fields of Asset.

Until a lake has lineage attached these return null or empty lists, never invented values.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from graph_api.schema.enums import RunStatus
from graph_api.schema.node import Node
from graph_api.schema.pagination import Connection
from graph_api.schema.scalars import JSON

if TYPE_CHECKING:
    from graph_api.schema.nodes import Asset

AssetRef = Annotated["Asset", strawberry.lazy("graph_api.schema.nodes")]


@strawberry.type
class Job:
    namespace: str
    name: str
    version: str | None = strawberry.field(description="the job's current version")


@strawberry.federation.type(keys=["id"])
class Run(Node):
    _run: strawberry.Private[Any]
    id: strawberry.ID
    job_version: str | None = strawberry.field(description="the job version this run executed "
                                                           "(Job.version is the job's current version)")
    status: RunStatus
    parameters: JSON | None
    started_at: datetime | None
    ended_at: datetime | None

    @classmethod
    def from_record(cls, run: Any) -> Run:
        return cls(_run=run, id=strawberry.ID(run.id), job_version=run.job_version, status=RunStatus(run.status),
                   parameters=run.parameters, started_at=run.started_at, ended_at=run.ended_at)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Run | None:
        return await load_run(info, id)

    @strawberry.field
    def job(self, info: Info) -> Job:
        job = info.context.lineage.job(self._run.namespace, self._run.job_name) if info.context.lineage else None
        return Job(namespace=self._run.namespace, name=self._run.job_name,
                   version=job.version if job else self._run.job_version)

    @strawberry.field
    async def inputs(self, info: Info) -> list[AssetRef]:
        from graph_api.schema.nodes import Asset

        rows = await info.context.loaders.asset.load_many([ref.asset_id for ref in self._run.inputs])
        return [Asset.from_record(r) for r in rows if r]

    @strawberry.field
    async def outputs(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[AssetRef]:
        from graph_api.schema.nodes import Asset, _page, by_id

        rows = await info.context.loaders.asset.load_many([o for o in self._run.outputs if o.startswith("asset_")])
        return _page(info, sorted((r for r in rows if r), key=by_id), by_id, Asset.from_record, first, after)


async def load_run(info: Info, run_id: str | None) -> Run | None:
    lineage = info.context.lineage
    if not run_id or lineage is None:
        return None
    run = lineage.get_run(run_id)
    return Run.from_record(run) if run else None


async def derived_from(info: Info, row: dict[str, Any]) -> list[Asset]:
    from graph_api.schema.nodes import Asset

    run = await load_run(info, row["produced_by"])
    if run is None:
        return []
    rows = await info.context.loaders.asset.load_many([ref.asset_id for ref in run._run.inputs])
    return [Asset.from_record(r) for r in rows if r]


async def derivatives(info: Info, row: dict[str, Any], role: str | None) -> list[dict[str, Any]]:
    lineage = info.context.lineage
    if lineage is None:
        return []
    ids = lineage.derivatives(row["id"])
    rows = [r for r in await info.context.loaders.asset.load_many(ids) if r]
    return sorted((r for r in rows if role is None or r["role"] == role), key=lambda r: r["id"])


async def is_stale(info: Info, row: dict[str, Any]) -> bool:
    lineage = info.context.lineage
    if lineage is None or not row["is_current"]:
        return False
    return lineage.is_stale(row["id"])

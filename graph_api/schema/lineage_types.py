"""Lineage behind the GraphQL types: the Job type, and the lineage reads that Run and the
lineage fields of Asset resolve through.

Until a lake has lineage attached these return None, empty lists or False, never invented values.
They return lineage records and ids, not GraphQL objects, so the types import them and not
the other way round.
"""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from graph_api.schema.context import Context, Row
from lineage.model import Run as RunRecord


@strawberry.type
class Job:
    namespace: str
    name: str
    version: str | None = strawberry.field(description="the job's current version")


def get_run(info: Info[Context, None], run_id: str | None) -> RunRecord | None:
    lineage = info.context.lineage
    if not run_id or lineage is None:
        return None
    return lineage.get_run(run_id)


def job_of(info: Info[Context, None], run: RunRecord) -> Job:
    job = info.context.lineage.job(run.namespace, run.job_name) if info.context.lineage else None
    return Job(namespace=run.namespace, name=run.job_name, version=job.version if job else run.job_version)


def derivative_ids(info: Info[Context, None], row: Row) -> list[str]:
    lineage = info.context.lineage
    if lineage is None:
        return []
    return lineage.derivatives(row["id"])


def is_stale(info: Info[Context, None], row: Row) -> bool:
    lineage = info.context.lineage
    if lineage is None or not row["is_current"]:
        return False
    return lineage.is_stale(row["id"])

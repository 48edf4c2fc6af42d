"""Factories for lineage tests: small graphs built the way the GraphQL layer builds them."""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import lancedb
import pytest

from graph_api.settings import storage_options_from
from lineage import AssetInfo, InputRef, Job, LineageGraph, Run

T0 = datetime(2025, 1, 1, tzinfo=UTC)


class Factory:
    """Builds assets and runs with defaults; ids are readable and sortable."""

    def __init__(self) -> None:
        self._n = itertools.count(1)

    def asset(
        self,
        id: str,
        version: int = 1,
        title_id: str = "title_a",
        role: str = "source",
        media_type: str = "VIDEO",
        produced_by: str | None = None,
        created_at: datetime = T0,
    ) -> AssetInfo:
        return AssetInfo(id, version, title_id, role, media_type, produced_by, created_at)

    def run(
        self,
        id: str,
        inputs: Sequence[str | tuple[str, int]] = (),
        outputs: Sequence[str] = (),
        job: str = "transcode",
        job_version: str | None = "1",
        status: str = "COMPLETED",
        parameters: dict[str, Any] | None = None,
        started_at: datetime | None = T0,
        ended_at: datetime | None = T0 + timedelta(minutes=1),
        recorded_at: datetime | None = None,
        namespace: str = "media",
        **kw: Any,
    ) -> Run:
        refs = tuple(
            InputRef(i, 1) if isinstance(i, str) else InputRef(i[0], i[1]) for i in inputs
        )
        return Run(
            id=id,
            namespace=namespace,
            job_name=job,
            job_version=job_version,
            status=status,
            parameters=parameters,
            started_at=started_at,
            ended_at=ended_at,
            recorded_at=recorded_at or T0 + timedelta(seconds=next(self._n)),
            inputs=refs,
            outputs=tuple(outputs),
            **kw,
        )

    def derive(
        self,
        graph: LineageGraph,
        run_id: str,
        inputs: Sequence[str],
        outputs: Sequence[str],
        role: str = "proxy",
        title_id: str = "title_a",
        **kw: Any,
    ) -> Run:
        """Record a run whose outputs are new assets, as recordRun does."""
        refs = [(i, graph.asset(i).version if graph.asset(i) else 1) for i in inputs]
        run = self.run(run_id, refs, outputs, **kw)
        new = [
            self.asset(o, role=role, title_id=title_id, produced_by=run_id, created_at=run.recorded_at)
            for o in outputs
            if o.startswith("asset_")
        ]
        job = Job(run.namespace, run.job_name, run.job_version)
        if graph.get_job(job.namespace, job.name) is None:
            graph.upsert_job(job)
        graph.add_run(run, new)
        return run


@pytest.fixture
def make() -> Factory:
    return Factory()


@pytest.fixture
def pipeline(make: Factory) -> LineageGraph:
    """src -> proxy -> frames f1,f2 -> embeddings e1,e2 (one run each); plus a subtitle source.

        asset_src --run_1--> asset_proxy --run_2--> asset_f1, asset_f2
        asset_f1 --run_3--> asset_e1 ; asset_f2 --run_4--> asset_e2
        asset_sub (source, unused)
    """
    g = LineageGraph(assets=[make.asset("asset_src"), make.asset("asset_sub", role="subtitle")])
    make.derive(g, "run_1", ["asset_src"], ["asset_proxy"], role="proxy")
    make.derive(g, "run_2", ["asset_proxy"], ["asset_f1", "asset_f2"], role="frame", job="frames")
    make.derive(g, "run_3", ["asset_f1"], ["asset_e1"], role="embedding", job="embed")
    make.derive(g, "run_4", ["asset_f2"], ["asset_e2"], role="embedding", job="embed")
    return g


@pytest.fixture
def db(lake_dir: str) -> lancedb.DBConnection:
    return connect(lake_dir)


def connect(uri: str) -> lancedb.DBConnection:
    """The lake's database as the store tests open it: with the storage options a deployment sets."""
    return lancedb.connect(uri, storage_options=storage_options_from(os.environ) or None)

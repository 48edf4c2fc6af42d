"""How one batch of vectors enters the lake: as one lineage Run of ``mediagraph/batch-embed``.

The order is the pipeline's (``graph_api.pipeline.runs.execute``): the run is recorded RUNNING
with the batch's segments' assets as inputs, the vectors are written naming it (one validated,
atomic ``upsert``), attached to it as outputs, and the run ends COMPLETED. A batch that fails
deletes what it wrote and ends FAILED (ABORTED on Ctrl-C): the next ``batch embed`` finds
those segments still missing and does them again.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, TextIO

from graph_api.batch.spaces import BatchSpace
from graph_api.lake.lineage import LakeLineage
from graph_api.pipeline.context import NAMESPACE
from lineage.model import Run, embedding_node_id

JOB = "batch-embed"
# bump when this job's code changes the vectors it writes
JOB_VERSION = "1.0.0"


@dataclass(frozen=True)
class Vector:
    subject_id: str
    asset_id: str
    vector: Sequence[float]


@dataclass
class Committer:
    """Writes batches as runs; ``engine`` and ``batch_size`` are recorded with each."""

    lineage: LakeLineage
    space: BatchSpace
    engine: str
    batch_size: int
    total: int
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    runs: list[Run] = field(default_factory=list)
    written: int = 0
    _model_version: str | None = None

    def parameters(self, index: int) -> dict[str, Any]:
        if self._model_version is None:
            self._model_version = self.space.model_version
        return {"space": self.space.name, "model": self.space.model, "model_version": self._model_version,
                "segment_kind": self.space.segment_kind, "batch": index, "batch_size": self.batch_size,
                "engine": self.engine, "code_version": _code_version()}

    def commit(self, vectors: Sequence[Vector]) -> Run | None:
        if not vectors:
            return None
        index = len(self.runs)
        lineage, lake = self.lineage, self.lineage.lake
        parameters = json.loads(json.dumps(self.parameters(index)))
        recorded = lineage.record_run({
            "job": {"namespace": NAMESPACE, "name": JOB, "version": JOB_VERSION},
            "inputs": sorted({v.asset_id for v in vectors}), "outputs": [], "status": "RUNNING",
            "parameters": parameters, "started_at": datetime.now(UTC),
        })
        run_id = recorded.run.id
        try:
            lake.embeddings.upsert(self.space.name, self.space.model, [
                {"subject_id": v.subject_id, "vector": [float(x) for x in v.vector], "run_id": run_id}
                for v in vectors])
            lineage.attach_outputs(run_id, [embedding_node_id(self.space.name, v.subject_id) for v in vectors])
            run = lineage.finish_run(run_id, "COMPLETED")
        except BaseException as exc:
            lake.embeddings.delete([self.space.name], produced_by=run_id)
            lineage.finish_run(run_id, "FAILED" if isinstance(exc, Exception) else "ABORTED",
                               parameters={**parameters, "error": f"{type(exc).__name__}: {exc}"[:500]})
            raise
        self.runs.append(run)
        self.written += len(vectors)
        print(f"batch {index + 1}: {len(vectors)} vectors in {self.space.name} ({self.written}/{self.total}), "
              f"run {run_id}", file=self.stream, flush=True)
        return run


def _code_version() -> str:
    try:
        return metadata.version("mediagraph")
    except metadata.PackageNotFoundError:
        return "unknown"

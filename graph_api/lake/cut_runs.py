"""A cut in lineage: a run of the editorial job that read the cut's clips' assets and whose
output is the cut, so ``impact`` of a source reaches the cuts that use it. One home for the
GraphQL mutation and the ``mediagraph cut import`` command."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from graph_api.lake.cuts import EDITORIAL_JOB, RecordCut
from graph_api.lake.lineage import RecordedRun


class RunWriter(Protocol):
    """What recording a cut needs of lineage: the lake's lineage, or a caller's view of it."""

    def record_run(self, spec: dict[str, Any]) -> RecordedRun: ...
    def attach_outputs(self, run_id: str, output_ids: Sequence[str]) -> None: ...


def cut_recorder(lineage: RunWriter | None) -> RecordCut | None:
    if lineage is None:
        return None

    def record(cut_id: str, asset_ids: Sequence[str]) -> str | None:
        namespace, name = EDITORIAL_JOB
        run = lineage.record_run({"job": {"namespace": namespace, "name": name}, "inputs": list(asset_ids),
                                  "parameters": {"cut": cut_id}}).run
        lineage.attach_outputs(run.id, [cut_id])
        return run.id

    return record

"""Lineage: how every derived asset was produced, what a change affects, what is stale.

``Lineage`` (lineage.service) is the facade every caller outside this package talks to;
``LineageStore`` is the protocol of its persistence (``LanceLineageStore`` in LanceDB).
The package imports neither graph_api, strawberry, starlette nor uvicorn; only
``lineage.store`` imports lancedb.
"""

from lineage.errors import (
    CycleError,
    InvalidArgumentError,
    InvalidEventError,
    InvalidRunError,
    LimitExceededError,
    LineageError,
    SecondProducerError,
    UnknownEntityError,
)
from lineage.graph import LineageGraph
from lineage.history import as_of
from lineage.model import (
    FINAL_STATUSES,
    RUN_STATUSES,
    AssetInfo,
    InputRef,
    Job,
    Run,
    embedding_node_id,
    new_run_id,
    node_kind,
)
from lineage.service import Lineage
from lineage.staleness import (
    is_stale,
    recompute_plan,
    stale_assets,
    stale_reasons,
    stale_runs,
)
from lineage.store import LanceLineageStore, LineageStore
from lineage.traversal import (
    ImpactGroup,
    Limits,
    Step,
    Traversal,
    impact,
    impact_groups,
    provenance,
    sources,
    traverse,
)

__all__ = [
    "FINAL_STATUSES",
    "RUN_STATUSES",
    "AssetInfo",
    "CycleError",
    "ImpactGroup",
    "InputRef",
    "InvalidArgumentError",
    "InvalidEventError",
    "InvalidRunError",
    "Job",
    "LanceLineageStore",
    "Lineage",
    "LimitExceededError",
    "Limits",
    "LineageError",
    "LineageGraph",
    "LineageStore",
    "Run",
    "SecondProducerError",
    "Step",
    "Traversal",
    "UnknownEntityError",
    "as_of",
    "embedding_node_id",
    "impact",
    "impact_groups",
    "is_stale",
    "new_run_id",
    "node_kind",
    "provenance",
    "recompute_plan",
    "sources",
    "stale_assets",
    "stale_reasons",
    "stale_runs",
    "traverse",
]

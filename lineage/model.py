"""The lineage vocabulary, after OpenLineage: Job, Run, and what lineage knows of an asset.

Records are frozen, slotted dataclasses: a million of each must fit in memory.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Run statuses, in the order a run passes through them; the GraphQL enum is built from this.
RUN_STATUSES: tuple[str, ...] = ("RUNNING", "COMPLETED", "FAILED", "ABORTED")
FINAL_STATUSES: frozenset[str] = frozenset(RUN_STATUSES[1:])
STATUSES: frozenset[str] = frozenset(RUN_STATUSES)

# Id kinds: the prefix of every id the lake makes, by kind. Lineage names its nodes by these
# ids, so the list lives here, in the lowest layer; graph_api.lake.ids makes ids from it.
ID_PREFIXES: dict[str, str] = {
    "title": "title_", "asset": "asset_", "segment": "seg_", "annotation": "ann_", "run": "run_",
    # creative workflows; a cut is a lineage node too (the output of its editorial run)
    "review": "rev_", "note": "note_", "cut": "cut_", "playlist": "pl_",
}
RUN_PREFIX = ID_PREFIXES["run"]
# an embedding is not a row with an id but a (space, subject) pair: emb:SPACE:SUBJECT
EMBEDDING_PREFIX = "emb:"


def new_run_id() -> str:
    return RUN_PREFIX + uuid.uuid4().hex


def node_kind(node_id: str) -> str:
    """The kind of a lineage node, from its id prefix."""
    if node_id.startswith(RUN_PREFIX):
        return "run"
    if node_id.startswith(ID_PREFIXES["segment"]):
        return "segment"
    if node_id.startswith(ID_PREFIXES["annotation"]):
        return "annotation"
    if node_id.startswith(EMBEDDING_PREFIX):
        return "embedding"
    if node_id.startswith(ID_PREFIXES["cut"]):
        return "cut"
    return "asset"


def id_kind(node_id: str) -> str | None:
    """The kind of an id the lake made ("title", "asset", "segment", "annotation", "run", or "embedding" for a
    well-formed emb:SPACE:SUBJECT), or None for anything else: a client may send any string."""
    if node_id.startswith(EMBEDDING_PREFIX):
        return "embedding" if node_id.count(":") >= 2 and all(node_id.split(":", 2)[1:]) else None
    return next((kind for kind, prefix in ID_PREFIXES.items() if node_id.startswith(prefix)), None)


def embedding_node_id(space: str, subject_id: str) -> str:
    return f"{EMBEDDING_PREFIX}{space}:{subject_id}"


@dataclass(frozen=True, slots=True)
class Job:
    namespace: str
    name: str
    version: str | None  # the job's CURRENT version


@dataclass(frozen=True, slots=True)
class InputRef:
    asset_id: str
    version: int  # the version of the asset the run read


def _utc(value: datetime | None) -> datetime | None:
    # Naive datetimes are taken as UTC so that a run round-trips through the
    # store (timestamp[us, tz=UTC]) unchanged.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    namespace: str
    job_name: str
    job_version: str | None  # the version this run executed
    status: str  # RUNNING | COMPLETED | FAILED | ABORTED
    parameters: dict[str, Any] | None
    started_at: datetime | None
    ended_at: datetime | None
    recorded_at: datetime
    inputs: tuple[InputRef, ...]
    # ids of what it produced: asset_..., seg_..., ann_..., or "emb:<space>:<subject_id>"
    outputs: tuple[str, ...]
    idempotency_key: str | None = None
    external_run_id: str | None = None  # the OpenLineage runId when it came from an event

    def __post_init__(self) -> None:
        for name in ("started_at", "ended_at", "recorded_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                object.__setattr__(self, name, _utc(value))

    @property
    def job_key(self) -> tuple[str, str]:
        return (self.namespace, self.job_name)


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """What lineage needs to know of an asset, at its current version."""

    id: str
    version: int
    title_id: str
    role: str
    media_type: str
    produced_by: str | None
    created_at: datetime

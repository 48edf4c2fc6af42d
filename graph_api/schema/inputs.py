"""Input types of the contract, and their translation into the lake's row dicts."""
from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types.unset import UNSET

from graph_api.schema.enums import MediaType, RunStatus, SegmentKind, TitleKind
from graph_api.schema.scalars import JSON, Long


@strawberry.input
class TitleInput:
    name: str
    kind: TitleKind
    external_id: str | None = UNSET
    release_year: int | None = UNSET
    parent_id: strawberry.ID | None = UNSET
    restricted: bool | None = UNSET


@strawberry.input
class AssetInput:
    title_id: strawberry.ID
    media_type: MediaType
    role: str
    uri: str
    checksum: str | None = UNSET
    size_bytes: Long | None = UNSET
    duration_seconds: float | None = UNSET
    width: int | None = UNSET
    height: int | None = UNSET
    frame_rate: float | None = UNSET
    technical: JSON | None = UNSET
    external_id: str | None = UNSET


@strawberry.input
class SegmentInput:
    asset_id: strawberry.ID
    kind: SegmentKind
    start: float
    end: float
    text: str | None = UNSET
    run_id: strawberry.ID | None = UNSET


@strawberry.input
class AnnotationInput:
    asset_id: strawberry.ID
    label: str
    segment_id: strawberry.ID | None = UNSET
    category: str | None = UNSET
    value: JSON | None = UNSET
    confidence: float | None = UNSET
    start: float | None = UNSET
    end: float | None = UNSET
    run_id: strawberry.ID | None = UNSET


@strawberry.input
class EmbeddingInput:
    subject_id: strawberry.ID = strawberry.field(description="an asset or segment id")
    vector: list[float]
    run_id: strawberry.ID | None = UNSET


@strawberry.input
class JobInput:
    namespace: str
    name: str
    version: str | None = UNSET


@strawberry.input
class RunInput:
    job: JobInput
    inputs: list[strawberry.ID] = strawberry.field(description="the assets the run read")
    outputs: list[AssetInput] = strawberry.field(
        description="new assets the run wrote; they are registered with producedBy = this run")
    status: RunStatus | None = UNSET
    parameters: JSON | None = UNSET
    started_at: datetime | None = UNSET
    ended_at: datetime | None = UNSET
    idempotency_key: str | None = strawberry.field(
        default=UNSET, description="a retried request with the same key returns the first result and writes nothing")


def to_row(value: Any) -> dict[str, Any]:
    """An input object as a plain dict with snake_case keys; omitted fields are left out, enums become values."""
    row: dict[str, Any] = {}
    for name, item in vars(value).items():
        if item is UNSET:
            continue
        row[name] = _plain(item)
    return row


def _plain(item: Any) -> Any:
    if isinstance(item, Enum):
        return item.value
    if isinstance(item, list):
        return [_plain(i) for i in item]
    if hasattr(item, "__strawberry_definition__"):
        return to_row(item)
    return item

"""Input types of the contract, and their translation into the lake's row dicts."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any
from weakref import WeakKeyDictionary

import strawberry
from strawberry.scalars import is_scalar
from strawberry.schema.name_converter import NameConverter
from strawberry.types.arguments import InputContext
from strawberry.types.base import StrawberryOptional, get_object_definition
from strawberry.types.enum import StrawberryEnumDefinition
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


def _build_from_input(cls: type, value: Mapping[str, Any], context: InputContext) -> Any:
    """Strawberry's ``from_input`` hook: an input object built straight from graphql-core's coerced value.

    Strawberry's own conversion resolves every field's type and GraphQL name again for every object
    (~1 ms per ``AssetInput``: most of a 1k-row ``registerAssets``). graphql-core has already coerced and
    checked the value, and a scalar or enum field's value is what strawberry passes on unchanged, so those
    are copied as they are; any other field (a nested input, a list) still goes through strawberry's own
    ``context.convert``, so the objects and errors are the ones strawberry builds."""
    plans = _plans.setdefault(context.config.name_converter, {})
    plan = plans.get(cls)
    if plan is None:
        definition = get_object_definition(cls, strict=True)
        plan = plans[cls] = (
            tuple((context.config.name_converter.from_field(field), field.python_name,
                   None if _is_leaf(field_type := field.resolve_type(type_definition=definition),
                                    context.scalar_registry) else field_type)
                  for field in definition.fields),
            # as strawberry does: a field without a default starts as None (graphql-core sends every required one)
            {field.python_name: None for field in definition.fields
             if field.default_value is dataclasses.MISSING and field.default_factory is dataclasses.MISSING})
    fields, required = plan
    kwargs: dict[str, Any] = dict(required)
    for graphql_name, python_name, needs_convert in fields:
        if graphql_name in value:
            item = value[graphql_name]
            kwargs[python_name] = item if needs_convert is None else context.convert(item, needs_convert, graphql_name)
    return cls(**kwargs)


# per schema (its name converter) and input class: each field's GraphQL name, Python name, and its type
# when it needs converting; and the fields that start as None
_Plan = tuple[tuple[tuple[str, str, Any], ...], dict[str, None]]
_plans: WeakKeyDictionary[NameConverter, dict[type, _Plan]] = WeakKeyDictionary()


def _is_leaf(field_type: Any, scalar_registry: Mapping[object, Any]) -> bool:
    """A scalar or enum (or an optional one): strawberry hands its coerced value to the resolver unchanged."""
    if isinstance(field_type, StrawberryOptional):
        field_type = field_type.of_type
    return isinstance(field_type, StrawberryEnumDefinition) or is_scalar(field_type, scalar_registry)


# bulk inputs: a batch of 1k is converted a thousand times a request
for _bulk in (AssetInput,):
    get_object_definition(_bulk, strict=True).from_input = _build_from_input


def to_row(value: Any) -> dict[str, Any]:
    """An input object as a plain dict with snake_case keys; omitted fields are left out, enums become values."""
    row: dict[str, Any] = {}
    for name, item in vars(value).items():
        if item is UNSET:
            continue
        row[name] = _plain(item)
    return row


# values that are already plain: most of a bulk input's, checked before the slower tests below
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _plain(item: Any) -> Any:
    if type(item) in _PLAIN:
        return item
    if isinstance(item, Enum):
        return item.value
    if isinstance(item, list):
        return [_plain(i) for i in item]
    if hasattr(item, "__strawberry_definition__"):
        return to_row(item)
    return item

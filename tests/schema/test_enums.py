"""The GraphQL enums offer exactly the values their one source defines, in its order."""
from __future__ import annotations

from enum import Enum
from typing import get_args

import pytest
from strawberry.types.enum import StrawberryEnumDefinition

from graph_api.lake.schemas import SEGMENT_KINDS, TITLE_KINDS
from graph_api.media.kinds import MEDIA_TYPES
from graph_api.schema import schema
from graph_api.schema.enums import (
    LineageDirection,
    MediaType,
    RunStatus,
    SegmentKind,
    TitleKind,
)
from lineage.model import RUN_STATUSES
from lineage.traversal import Direction


@pytest.mark.parametrize(("enum", "source"), [
    (TitleKind, TITLE_KINDS),
    (MediaType, MEDIA_TYPES),
    (SegmentKind, SEGMENT_KINDS),
    (RunStatus, RUN_STATUSES),
    (LineageDirection, get_args(Direction)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_enum_is_its_source(enum: type[Enum], source: tuple[str, ...]) -> None:
    assert tuple(m.value for m in enum) == tuple(source)
    assert tuple(m.name for m in enum) == tuple(source)  # GraphQL sends names, the lake stores values
    served = schema.get_type_by_name(enum.__name__)
    assert isinstance(served, StrawberryEnumDefinition) and [v.name for v in served.values] == list(source)

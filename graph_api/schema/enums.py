"""Enums of the contract; their values are what the lake stores.

TitleKind, MediaType, SegmentKind and RunStatus mirror the one list that defines each
(graph_api.lake.schemas.TITLE_KINDS and SEGMENT_KINDS, graph_api.media.kinds.MEDIA_TYPES,
lineage.model.RUN_STATUSES). They are written out as classes so that type checkers know their
members; tests/schema/test_enums.py fails when one drifts from its source.
"""
from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum
class TitleKind(Enum):
    MOVIE = "MOVIE"
    SERIES = "SERIES"
    SEASON = "SEASON"
    EPISODE = "EPISODE"
    TRAILER = "TRAILER"
    OTHER = "OTHER"


@strawberry.enum
class MediaType(Enum):
    VIDEO = "VIDEO"
    AUDIO = "AUDIO"
    IMAGE = "IMAGE"
    TEXT = "TEXT"


@strawberry.enum
class SegmentKind(Enum):
    SHOT = "SHOT"
    SCENE = "SCENE"
    FRAME = "FRAME"
    DIALOGUE = "DIALOGUE"


@strawberry.enum
class RunStatus(Enum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"


@strawberry.enum
class LineageDirection(Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"

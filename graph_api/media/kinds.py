"""Media types: the one list of them, and the file extensions that name each.

The lake validates against it, ingest and the OpenLineage mapping infer a type from a uri
with it, and the GraphQL ``MediaType`` enum is built from it.
"""
from __future__ import annotations

from enum import StrEnum
from pathlib import PurePosixPath


class MediaType(StrEnum):
    VIDEO = "VIDEO"
    AUDIO = "AUDIO"
    IMAGE = "IMAGE"
    TEXT = "TEXT"


MEDIA_TYPES: tuple[str, ...] = tuple(m.value for m in MediaType)

EXTENSION_TYPES: dict[MediaType, frozenset[str]] = {
    MediaType.VIDEO: frozenset({".mov", ".mp4", ".mxf", ".mkv", ".avi", ".webm", ".m4v", ".ts", ".y4m"}),
    MediaType.AUDIO: frozenset({".wav", ".aac", ".m4a", ".mp3", ".flac", ".opus", ".ogg", ".aiff", ".ac3"}),
    MediaType.IMAGE: frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".exr", ".dpx", ".webp", ".bmp"}),
    MediaType.TEXT: frozenset({".srt", ".vtt", ".ttml", ".scc", ".txt", ".json"}),
}


def media_type_for(uri: str) -> str | None:
    """The media type a uri's extension names, or None."""
    suffix = PurePosixPath(uri.split("?")[0]).suffix.lower()
    return next((kind.value for kind, suffixes in EXTENSION_TYPES.items() if suffix in suffixes), None)

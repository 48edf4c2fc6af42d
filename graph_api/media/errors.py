"""Errors raised by the media layer.

Every error carries a stable ``code`` that callers (ingest summaries, GraphQL
``extensions.code``) can switch on, and the offending file as ``.path``::

    MediaError                       code
    ├── UnreadableError              UNREADABLE          missing path, directory, no permission
    ├── NotMediaError                NOT_MEDIA           readable, but not audio/video/image/subtitle
    ├── CorruptMediaError            CORRUPT_MEDIA       looks like media, but truncated or undecodable
    ├── UnsupportedCodecError        UNSUPPORTED_CODEC   a stream FFmpeg has no decoder for
    ├── BadSubtitleError             BAD_SUBTITLE        unparseable or impossible cue timing
    ├── NoSuitableStreamError        NO_STREAM           e.g. shot detection on an audio-only file
    └── MissingDependencyError       MISSING_DEPENDENCY  optional extra not installed (also an ImportError)
"""

from __future__ import annotations

from pathlib import Path


class MediaError(Exception):
    code: str = "MEDIA_ERROR"

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.path: Path | None = Path(path) if path is not None else None
        self.message = message
        super().__init__(f"{path}: {message}" if path is not None else message)


class UnreadableError(MediaError):
    code = "UNREADABLE"


class NotMediaError(MediaError):
    code = "NOT_MEDIA"


class CorruptMediaError(MediaError):
    code = "CORRUPT_MEDIA"


class UnsupportedCodecError(MediaError):
    code = "UNSUPPORTED_CODEC"


class BadSubtitleError(MediaError):
    code = "BAD_SUBTITLE"

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None) -> None:
        self.line = line
        where = f"line {line}: " if line is not None else ""
        super().__init__(where + message, path)


class NoSuitableStreamError(MediaError):
    code = "NO_STREAM"


class MissingDependencyError(MediaError, ImportError):  # type: ignore[misc]
    """Raised instead of a bare ImportError so the fix (which extra to install) is in the message."""

    code = "MISSING_DEPENDENCY"

    def __init__(self, message: str) -> None:
        MediaError.__init__(self, message)

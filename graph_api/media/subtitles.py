"""Subtitle files (SubRip .srt and WebVTT .vtt) parsed into timed cues.

Parsing is strict about timing, because a cue with a wrong time becomes a
wrong DIALOGUE segment in the lake, and lenient about everything else
(styling tags, cue settings, NOTE/STYLE blocks, BOMs, CRLF, legacy encodings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import BadSubtitleError, UnreadableError

SUBTITLE_SUFFIXES = frozenset({".srt", ".vtt"})

# Hours are optional in WebVTT; SubRip uses "," before milliseconds and WebVTT "." — accept both
# because real-world files mix them up.
_TIMESTAMP = re.compile(r"^(?:(\d+):)?([0-5]?\d):([0-5]\d)[,.](\d{1,3})$")
_ARROW = "-->"
_TAG = re.compile(r"</?[^>]+>")


@dataclass(frozen=True, slots=True)
class Cue:
    start: float
    end: float
    text: str


def read_subtitles(path: str | Path) -> list[Cue]:
    """Parse ``path`` by suffix (``.vtt`` or anything starting with ``WEBVTT`` is WebVTT)."""
    path = Path(path)
    text = _read_text(path)
    if path.suffix.lower() == ".vtt" or text.lstrip("\ufeff").startswith("WEBVTT"):
        return parse_vtt(text, path)
    return parse_srt(text, path)


def _cue(lines: list[str], first_line: int, path: str | Path | None) -> Cue:
    # The numeric counter (SRT) or cue id (WebVTT) is optional; the timing line is first or second.
    timing_at = next((i for i, line in enumerate(lines) if _ARROW in line), None)
    if timing_at is None or timing_at > 1:
        raise BadSubtitleError("expected a 'start --> end' timing line", path, first_line)
    start, end = _parse_timing(lines[timing_at], path, first_line + timing_at)
    return Cue(start, end, _clean(lines[timing_at + 1 :]))


def parse_srt(text: str, path: str | Path | None = None) -> list[Cue]:
    cues: list[Cue] = []
    for first_line, block in _blocks(text):
        cues.append(_cue(list(block), first_line, path))
    return cues


def parse_vtt(text: str, path: str | Path | None = None) -> list[Cue]:
    blocks = list(_blocks(text))
    if not blocks or not blocks[0][1][0].lstrip("\ufeff").startswith("WEBVTT"):
        raise BadSubtitleError("WebVTT file must start with 'WEBVTT'", path, 1)
    cues: list[Cue] = []
    for first_line, lines in blocks[1:]:
        head = lines[0]
        if head.startswith(("NOTE", "STYLE", "REGION")) and _ARROW not in head:
            continue
        cues.append(_cue(lines, first_line, path))
    return cues


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableError(exc.strerror or str(exc), path) from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older SRTs are commonly Windows-1252; latin-1 cannot fail, so nothing is lost.
        return data.decode("cp1252", errors="replace")


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks, each with the 1-based line number of its first line."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if line.strip():
            if not current:
                start = number
            current.append(line.lstrip("\ufeff") if number == 1 else line)
        elif current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def _parse_timing(line: str, path: str | Path | None, line_no: int) -> tuple[float, float]:
    left, _, right = line.partition(_ARROW)
    # WebVTT cue settings ("align:start position:10%") follow the end time.
    right_parts = right.split()
    start = _parse_timestamp(left.strip(), path, line_no)
    end = _parse_timestamp(right_parts[0] if right_parts else "", path, line_no)
    if end < start:
        raise BadSubtitleError(f"cue ends ({end:.3f}s) before it starts ({start:.3f}s)", path, line_no)
    return start, end


def _parse_timestamp(value: str, path: str | Path | None, line_no: int) -> float:
    if value.startswith("-"):
        raise BadSubtitleError(f"negative timestamp {value!r}", path, line_no)
    match = _TIMESTAMP.match(value)
    if match is None:
        raise BadSubtitleError(f"unparseable timestamp {value!r}", path, line_no)
    hours, minutes, seconds, millis = match.groups()
    return (
        int(hours or 0) * 3600
        + int(minutes) * 60
        + int(seconds)
        + int(millis.ljust(3, "0")) / 1000
    )


def _clean(lines: list[str]) -> str:
    return "\n".join(_TAG.sub("", line).strip() for line in lines).strip()

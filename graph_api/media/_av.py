"""Shared PyAV plumbing: opening inputs with the layer's error mapping, picture sizes, and progress reporting."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import av

from .errors import CorruptMediaError, NotMediaError, UnreadableError, UnsupportedCodecError

Progress = Callable[[float], None]


@contextmanager
def open_input(path: str | Path) -> Iterator[av.container.InputContainer]:
    """``av.open`` for reading, translating FFmpeg failures into MediaErrors naming the file."""
    path = Path(path)
    if not path.exists():
        raise UnreadableError("no such file", path)
    if path.is_dir():
        raise UnreadableError("is a directory", path)
    try:
        container = av.open(str(path))
    except PermissionError as exc:
        raise UnreadableError("permission denied", path) from exc
    except av.error.InvalidDataError as exc:
        raise NotMediaError(f"cannot be opened as media ({exc.strerror})", path) from exc
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(f"cannot be opened ({exc.strerror})", path) from exc
    try:
        yield container
    except av.error.DecoderNotFoundError as exc:
        raise UnsupportedCodecError(str(exc.strerror), path) from exc
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(f"decoding failed ({exc.strerror})", path) from exc
    finally:
        container.close()


def fit_height(height: int, target_height: int) -> int:
    """The height a ``height``-line picture scaled to ``target_height`` lines gets: never upscaled, even."""
    out_h = min(target_height, height)
    return max(out_h - out_h % 2, 2)


def fit_size(width: int, height: int, sample_aspect: Fraction | None, target_height: int) -> tuple[int, int]:
    """Width follows the display aspect ratio, rounded to even numbers as 4:2:0 requires."""
    display_width = width * (sample_aspect if sample_aspect else 1)
    out_h = fit_height(height, target_height)
    out_w = round(display_width * out_h / height / 2) * 2
    return max(out_w, 2), max(out_h, 2)


def duration_of(container: av.container.InputContainer) -> float:
    if container.duration is not None:
        return container.duration / av.time_base
    best = 0.0
    for stream in container.streams:
        if stream.duration is not None and stream.time_base is not None:
            best = max(best, float(stream.duration * stream.time_base))
    return best


class Reporter:
    """Throttles progress callbacks so a per-frame loop does not spend its time in the UI."""

    def __init__(self, progress: Progress | None, total: float, step: float = 0.005) -> None:
        self.progress = progress
        self.total = total if total > 0 else 1.0
        self.step = step
        self.last = -1.0

    def __call__(self, done: float) -> None:
        if self.progress is None:
            return
        fraction = min(max(done / self.total, 0.0), 1.0)
        if fraction - self.last >= self.step:
            self.last = fraction
            self.progress(fraction)

    def finish(self) -> None:
        if self.progress is not None and self.last < 1.0:
            self.last = 1.0
            self.progress(1.0)


def temp_sibling(path: Path) -> Path:
    """Partial output lives next to the target (same filesystem, so the final rename is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}.part{path.suffix}")

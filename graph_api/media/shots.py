"""Shot-boundary detection: hard cuts found from colour-histogram change between frames.

Each frame is shrunk to a thumbnail and summarised as a joint RGB histogram; the
frame-to-frame distance (half the L1 distance, 0 = same colours, 1 = disjoint)
spikes at a cut and stays low within a shot, even when a pattern moves, because
motion rearranges pixels without changing which colours are present.

A frame is a cut when its distance stands out from its neighbourhood
(mean + ``k``·std of the surrounding frames, never below an absolute floor) and is
the largest within the minimum shot length. Gradual transitions (fades,
dissolves) are not detected.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import av
import numpy as np

from ._av import Progress, Reporter, duration_of, open_input
from .errors import NoSuitableStreamError

_THUMB = (64, 36)
_BINS_PER_CHANNEL = 4  # 64 joint bins: coarse enough that 2,304 pixels fill them stably
_WINDOW = 12  # frames either side that define "normal" change
_K = 4.0
_FLOOR = 0.2


class Shot(NamedTuple):
    start: float
    end: float


def detect_shots(
    src: str | Path,
    min_shot_seconds: float = 0.5,
    floor: float = _FLOOR,
    progress: Progress | None = None,
) -> list[Shot]:
    """Contiguous shots covering the whole clip, from 0 to its duration."""
    times, scores, duration, rate = frame_scores(src, progress)
    cuts = pick_cuts(scores, max(1, round(min_shot_seconds * rate)), floor)
    starts = [0.0, *(times[i] for i in cuts)]
    ends = [*starts[1:], duration]
    return [Shot(round(s, 6), round(e, 6)) for s, e in zip(starts, ends)]


def frame_scores(src: str | Path, progress: Progress | None = None) -> tuple[list[float], np.ndarray, float, float]:
    """Per-frame presentation times and histogram distance to the previous frame (0 for the first)."""
    src = Path(src)
    times: list[float] = []
    scores: list[float] = []
    with open_input(src) as container:
        videos = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
        if not videos:
            raise NoSuitableStreamError("no video stream to detect shots in", src)
        stream = videos[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        duration = duration_of(container)
        report = Reporter(progress, duration)
        previous: np.ndarray | None = None
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            hist = _histogram(frame)
            scores.append(0.0 if previous is None else 0.5 * float(np.abs(hist - previous).sum()))
            times.append(frame.time)
            previous = hist
            report(frame.time)
        report.finish()
    if times:
        duration = max(duration, times[-1] + 1 / rate)
    return times, np.asarray(scores, dtype=np.float64), duration, rate


def pick_cuts(scores: np.ndarray, min_gap: int, floor: float = _FLOOR) -> list[int]:
    """Indices of frames that start a new shot."""
    candidates: list[int] = []
    n = len(scores)
    for i in range(1, n):
        s = scores[i]
        if s < floor:
            continue
        neighbours = np.concatenate((scores[max(1, i - _WINDOW) : i], scores[i + 1 : i + 1 + _WINDOW]))
        # Other cuts inside the window would inflate the spread; drop values as large as this one.
        neighbours = neighbours[neighbours < s]
        if neighbours.size and s < neighbours.mean() + _K * neighbours.std() + 0.05:
            continue
        candidates.append(i)
    cuts: list[int] = []
    for i in candidates:
        if cuts and i - cuts[-1] < min_gap:
            if scores[i] > scores[cuts[-1]]:
                cuts[-1] = i
            continue
        cuts.append(i)
    return cuts


def _histogram(frame: av.VideoFrame) -> np.ndarray:
    rgb = frame.reformat(width=_THUMB[0], height=_THUMB[1], format="rgb24", interpolation="AREA").to_ndarray()
    q = rgb.astype(np.int32) >> (8 - 2)  # 2 bits per channel = _BINS_PER_CHANNEL levels
    index = (q[..., 0] * _BINS_PER_CHANNEL + q[..., 1]) * _BINS_PER_CHANNEL + q[..., 2]
    hist = np.bincount(index.ravel(), minlength=_BINS_PER_CHANNEL**3).astype(np.float64)
    return hist / hist.sum()

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
from typing import NamedTuple, cast

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from ._av import Progress, duration_of
from .errors import NoSuitableStreamError
from .onepass import Consumer, Picture, run_one

_THUMB = (64, 36)
# The pass shrinks each frame to this height once for every step that works small (the proxy at its
# default height shares it); the thumbnail comes from that picture, not from the full-size frame.
ANALYSIS_HEIGHT = 360
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
    return cast(list[Shot], run_one(src, ShotDetector(min_shot_seconds, floor), progress))


def frame_scores(src: str | Path, progress: Progress | None = None) -> tuple[list[float], np.ndarray, float, float]:
    """Per-frame presentation times and histogram distance to the previous frame (0 for the first)."""
    detector = ShotDetector()
    run_one(src, detector, progress)
    return detector.times, np.asarray(detector.picker.scores, dtype=np.float64), detector.duration, detector.rate


class ShotDetector(Consumer):
    """Shot detection as a consumer of a decode pass (``onepass``).

    Cuts become final a little after they happen (``WINDOW`` + the minimum shot length, in
    frames); ``take_cuts`` hands them out as they do, so a frame grabber in the same pass can
    keep just the last few frames and still write the first frame of every shot.
    """

    wants_video = True
    video_height = ANALYSIS_HEIGHT

    def __init__(self, min_shot_seconds: float = 0.5, floor: float = _FLOOR) -> None:
        self.min_shot_seconds, self.floor = min_shot_seconds, floor
        self.times: list[float] = []
        self.duration = 0.0
        self.rate = 25.0
        self.picker = CutPicker(1, floor)
        self._previous: np.ndarray | None = None
        self._taken = 0
        self._scaler = VideoReformatter()

    def start(self, src: Path, container: av.container.InputContainer, video: av.VideoStream | None,
              audio: av.AudioStream | None) -> None:
        if video is None:
            raise NoSuitableStreamError("no video stream to detect shots in", src)
        self.rate = float(video.average_rate or video.guessed_rate or 25)
        self.duration = duration_of(container)
        self.picker = CutPicker(max(1, round(self.min_shot_seconds * self.rate)), self.floor)

    def on_video(self, picture: Picture) -> None:
        if picture.time is None:
            return
        hist = _histogram(picture.frame, self._scaler)
        self.picker.push(0.0 if self._previous is None else 0.5 * float(np.abs(hist - self._previous).sum()))
        self.times.append(picture.time)
        self._previous = hist

    def take_cuts(self, final: bool = False) -> list[int]:
        """Frame indices of cuts made final since the last call (all the rest when ``final``)."""
        if final:
            self.picker.finish()
        new = self.picker.cuts[self._taken:]
        self._taken = len(self.picker.cuts)
        return new

    def finish(self) -> list[Shot]:
        self.picker.finish()
        duration = max(self.duration, self.times[-1] + 1 / self.rate) if self.times else self.duration
        starts = [0.0, *(self.times[i] for i in self.picker.cuts)]
        ends = [*starts[1:], duration]
        return [Shot(round(s, 6), round(e, 6)) for s, e in zip(starts, ends)]


def pick_cuts(scores: np.ndarray, min_gap: int, floor: float = _FLOOR) -> list[int]:
    """Indices of frames that start a new shot."""
    picker = CutPicker(min_gap, floor)
    for s in scores:
        picker.push(float(s))
    picker.finish()
    return picker.cuts


class CutPicker:
    """Cuts from frame scores as the scores arrive; the same cuts whenever the scores are the same.

    A frame is a candidate when its score stands out from the ``_WINDOW`` frames either side;
    of candidates closer than ``min_gap`` frames the largest wins. So a frame's candidacy is
    known ``_WINDOW`` frames later, and a candidate is final once no later one can replace it.
    """

    def __init__(self, min_gap: int, floor: float = _FLOOR) -> None:
        self.min_gap, self.floor = min_gap, floor
        self.scores: list[float] = []
        self.cuts: list[int] = []  # final
        self._pending: int | None = None
        self._next = 1  # the first frame whose candidacy is not decided yet (frame 0 starts the clip)

    def push(self, score: float) -> None:
        self.scores.append(score)
        while self._next + _WINDOW < len(self.scores):
            self._decide(self._next)
            self._next += 1
        if self._pending is not None and self._next >= self._pending + self.min_gap:
            self.cuts.append(self._pending)
            self._pending = None

    def finish(self) -> None:
        while self._next < len(self.scores):
            self._decide(self._next)
            self._next += 1
        if self._pending is not None:
            self.cuts.append(self._pending)
            self._pending = None

    def _decide(self, i: int) -> None:
        scores = self.scores
        s = scores[i]
        if s < self.floor:
            return
        neighbours = np.array(scores[max(1, i - _WINDOW) : i] + scores[i + 1 : i + 1 + _WINDOW])
        # Other cuts inside the window would inflate the spread; drop values as large as this one.
        neighbours = neighbours[neighbours < s]
        if neighbours.size and s < neighbours.mean() + _K * neighbours.std() + 0.05:
            return
        if self._pending is not None:
            if i - self._pending < self.min_gap:
                if s > scores[self._pending]:
                    self._pending = i
                return
            self.cuts.append(self._pending)
        self._pending = i


def _histogram(frame: av.VideoFrame, scaler: VideoReformatter) -> np.ndarray:
    rgb = scaler.reformat(frame, width=_THUMB[0], height=_THUMB[1], format="rgb24", interpolation="AREA").to_ndarray()
    q = rgb.astype(np.int32) >> (8 - 2)  # 2 bits per channel = _BINS_PER_CHANNEL levels
    index = (q[..., 0] * _BINS_PER_CHANNEL + q[..., 1]) * _BINS_PER_CHANNEL + q[..., 2]
    hist = np.bincount(index.ravel(), minlength=_BINS_PER_CHANNEL**3).astype(np.float64)
    return hist / hist.sum()

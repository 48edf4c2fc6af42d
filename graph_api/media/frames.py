"""Thumbnails: still frames at a regular interval plus at chosen times (e.g. one per shot).

``extract_frames`` reads on its own: nearby targets are reached by decoding forward,
distant ones by seeking to the preceding keyframe, so sparse thumbnails of a long film
cost a few GOPs each, not a decode of the whole film. ``FrameGrabber`` takes its frames
from a decode pass shared with other steps (``onepass``), and can take the first frame of
every shot as a ``ShotDetector`` in the same pass finds the cuts.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.reformatter import VideoReformatter

from ._av import Progress, Reporter, duration_of, fit_size, open_input
from .errors import NoSuitableStreamError
from .images import write_image
from .onepass import Consumer, Picture, main_video
from .shots import _WINDOW, ShotDetector

# Without a keyframe index (some containers), decode forward while the next target is this close
# and seek beyond it; typical GOPs are 1-5 s.
_SEEK_GAP_SECONDS = 4.0


@dataclass(frozen=True, slots=True)
class Frame:
    path: Path
    time: float  # presentation time of the frame actually written
    width: int
    height: int


def frame_times(duration: float, interval: float, at: Sequence[float] = ()) -> list[float]:
    """The sorted, de-duplicated target times inside ``[0, duration)``."""
    times: set[float] = set()
    if interval > 0:
        times.update(round(k * interval, 6) for k in range(math.ceil(duration / interval)))
    times.update(round(float(t), 6) for t in at)
    return sorted(t for t in times if 0 <= t < duration)


def extract_frames(
    src: str | Path,
    out_dir: str | Path,
    interval: float,
    at: Sequence[float] = (),
    progress: Progress | None = None,
    height: int | None = 360,
    suffix: str = ".jpg",
) -> list[Frame]:
    """Write the frame shown at each target time to ``out_dir`` as ``frame_<ms>.jpg``.

    The frame written for a target ``t`` is the one nearest to ``t``. Targets that land on
    the same frame yield one file, so the result may be shorter than the target list.
    """
    src, out_dir = Path(src), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Frame] = []
    try:
        with open_input(src) as container:
            stream = main_video(container)
            if stream is None:
                raise NoSuitableStreamError("no video stream to take frames from", src)
            stream.thread_type = "AUTO"
            targets = frame_times(duration_of(container), interval, at)
            report = Reporter(progress, len(targets))
            rate = float(stream.average_rate or stream.guessed_rate or 25)
            cc = stream.codec_context
            size = fit_size(cc.width, cc.height, cc.sample_aspect_ratio, height or cc.height)
            seen: set[int] = set()
            scaler = VideoReformatter()
            for i, frame in enumerate(_frames_at(container, stream, targets, 0.5 / rate)):
                key = round(frame.time * 1000)
                if key not in seen:
                    seen.add(key)
                    image = scaler.reformat(frame, width=size[0], height=size[1], format="rgb24")
                    path = write_image(out_dir / f"frame_{key:09d}{suffix}", image)
                    written.append(Frame(path, round(frame.time, 6), size[0], size[1]))
                report(i + 1)
            report.finish()
    except BaseException:
        # A caller that gets an exception gets no list, so nothing it could register stays behind.
        for done in written:
            done.path.unlink(missing_ok=True)
        raise
    return written


def _frames_at(
    container: av.container.InputContainer, stream: av.VideoStream, targets: list[float], tolerance: float
) -> Iterator[av.VideoFrame]:
    decoder: Iterator[av.VideoFrame] | None = None
    current: av.VideoFrame | None = None
    time_base = stream.time_base or Fraction(1, 90000)
    keyframes = _keyframe_times(stream)
    for target in targets:
        if decoder is None or current is None or target < current.time - tolerance or _seek_pays(
            keyframes, current.time, target
        ):
            container.seek(int(target / time_base), stream=stream, backward=True, any_frame=False)
            decoder = (f for f in container.decode(stream) if f.time is not None)
            current = None
        while current is None or current.time < target - tolerance:
            nxt = next(decoder, None)
            if nxt is None:
                break  # past the last frame: the last one decoded is the nearest
            current = nxt
        if current is not None:
            yield current


def _keyframe_times(stream: av.VideoStream) -> list[float] | None:
    entries = stream.index_entries
    if not entries or stream.time_base is None:
        return None
    times = [float(e.timestamp * stream.time_base) for e in entries if e.is_keyframe]
    return sorted(times) or None


def _seek_pays(keyframes: list[float] | None, position: float, target: float) -> bool:
    """Seek only when a keyframe lies between here and the target; otherwise decoding on is no more work."""
    if keyframes is None:
        return target - position > _SEEK_GAP_SECONDS
    i = bisect.bisect_right(keyframes, target) - 1
    return i >= 0 and keyframes[i] > position


class FrameGrabber(Consumer):
    """``extract_frames`` as a consumer of a decode pass: the same frame for each target time.

    With ``shots``, the first frame of every shot that detector finds is a target as well.
    Cuts are final a few frames after they happen, so the last frames are kept until then.
    """

    wants_video = True

    def __init__(self, out_dir: str | Path, interval: float, at: Sequence[float] = (), height: int | None = 360,
                 suffix: str = ".jpg", shots: ShotDetector | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.interval, self.at, self.height, self.suffix, self.shots = interval, at, height, suffix, shots
        self.written: list[Frame] = []
        self._seen: set[int] = set()
        # full-size pictures: a thumbnail is scaled from the decoded frame only when one is written
        self._recent: deque[Picture] = deque()
        self._index = -1  # of the last frame with a time, counted as the shot detector counts
        self._last: Picture | None = None
        self._scaler = VideoReformatter()

    def start(self, src: Path, container: av.container.InputContainer, video: av.VideoStream | None,
              audio: av.AudioStream | None) -> None:
        if video is None:
            raise NoSuitableStreamError("no video stream to take frames from", src)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        rate = float(video.average_rate or video.guessed_rate or 25)
        self._tolerance = 0.5 / rate
        cc = video.codec_context
        self._size = fit_size(cc.width, cc.height, cc.sample_aspect_ratio, self.height or cc.height)
        self._targets = deque(frame_times(duration_of(container), self.interval, self.at))
        if self.shots is not None:
            # a cut is final at most the window plus the shortest shot after it
            self._keep = _WINDOW + max(1, round(self.shots.min_shot_seconds * rate)) + 2

    def on_video(self, picture: Picture) -> None:
        if picture.time is None:
            return
        self._index += 1
        self._last = picture
        # the first frame at or past each target (less half a frame) is the one nearest to it
        if self._targets and self._targets[0] <= picture.time + self._tolerance:
            while self._targets and self._targets[0] <= picture.time + self._tolerance:
                self._targets.popleft()
            self._write(picture)
        if self.shots is not None:
            self._recent.append(picture)
            if len(self._recent) > self._keep:
                self._recent.popleft()
            self._write_cuts(self.shots.take_cuts())

    def finish(self) -> list[Frame]:
        if self.shots is not None:
            self._write_cuts(self.shots.take_cuts(final=True))
        if self._targets and self._last is not None:
            self._write(self._last)  # targets past the last frame get the last frame
        self._targets.clear()
        self._recent.clear()
        return sorted(self.written, key=lambda f: f.time)

    def abort(self) -> None:
        for done in self.written:
            done.path.unlink(missing_ok=True)
        self.written = []

    def _write_cuts(self, cuts: list[int]) -> None:
        first = self._index - len(self._recent) + 1
        for i in cuts:
            if not first <= i <= self._index:
                raise RuntimeError(f"frame {i} of a cut is no longer kept ({first}..{self._index})")
            self._write(self._recent[i - first])

    def _write(self, picture: Picture) -> None:
        assert picture.time is not None
        key = round(picture.time * 1000)
        if key in self._seen:
            return
        self._seen.add(key)
        image = self._scaler.reformat(picture.frame, width=self._size[0], height=self._size[1], format="rgb24")
        path = write_image(self.out_dir / f"frame_{key:09d}{self.suffix}", image)
        self.written.append(Frame(path, round(picture.time, 6), *self._size))

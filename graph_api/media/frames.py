"""Thumbnails: still frames at a regular interval plus at chosen times (e.g. one per shot).

Nearby targets are reached by decoding forward; distant ones by seeking to the
preceding keyframe, so sparse thumbnails of a long film cost a few GOPs each,
not a decode of the whole film.
"""

from __future__ import annotations

import bisect
import math
from fractions import Fraction
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av

from ._av import Progress, Reporter, duration_of, open_input
from .errors import NoSuitableStreamError
from .images import write_image
from .transcode import proxy_size

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
            videos = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
            if not videos:
                raise NoSuitableStreamError("no video stream to take frames from", src)
            stream = videos[0]
            stream.thread_type = "AUTO"
            targets = frame_times(duration_of(container), interval, at)
            report = Reporter(progress, len(targets))
            rate = float(stream.average_rate or stream.guessed_rate or 25)
            cc = stream.codec_context
            size = proxy_size(cc.width, cc.height, cc.sample_aspect_ratio, height or cc.height)
            seen: set[int] = set()
            for i, frame in enumerate(_frames_at(container, stream, targets, 0.5 / rate)):
                key = round(frame.time * 1000)
                if key not in seen:
                    seen.add(key)
                    image = frame.reformat(width=size[0], height=size[1], format="rgb24")
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

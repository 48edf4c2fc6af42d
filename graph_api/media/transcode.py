"""Browse proxies: small H.264/AAC MP4s that play in any browser.

The proxy is written under a temporary name and renamed only once it is
complete, so an interrupted or failed transcode never leaves a file that
looks like a finished proxy. ``ProxyWriter`` is the proxy as a consumer of a
decode pass (``onepass``), so it can share one decode with the other steps.
"""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
from av.video.reformatter import VideoReformatter

from ._av import Progress, temp_sibling
from .errors import NoSuitableStreamError
from .onepass import Consumer, run_one

_AUDIO_RATE = 48000
_AAC_FRAME = 1024


def make_proxy(
    src: str | Path,
    dst: str | Path,
    height: int = 360,
    crf: int = 23,
    preset: str = "veryfast",
    audio_bitrate: int = 128_000,
    progress: Progress | None = None,
) -> Path:
    """Transcode ``src`` to an H.264 + AAC MP4 ``height`` lines tall (never upscaled).

    Width follows the display aspect ratio, rounded to even numbers as 4:2:0 requires.
    HDR sources are scaled but not tone-mapped.
    """
    return cast(Path, run_one(src, ProxyWriter(dst, height, crf, preset, audio_bitrate), progress))


def proxy_height(height: int, target_height: int) -> int:
    """The height a proxy of a ``height``-line source gets: the target, never upscaled, even."""
    out_h = min(target_height, height)
    return max(out_h - out_h % 2, 2)


def proxy_size(width: int, height: int, sample_aspect: Fraction | None, target_height: int) -> tuple[int, int]:
    display_width = width * (sample_aspect if sample_aspect else 1)
    out_h = proxy_height(height, target_height)
    out_w = round(display_width * out_h / height / 2) * 2
    return max(out_w, 2), max(out_h, 2)


class ProxyWriter(Consumer):
    """Encodes the frames of a pass into ``dst``; ``finish`` renames the complete file into place."""

    wants_video = True
    wants_audio = True

    def __init__(self, dst: str | Path, height: int = 360, crf: int = 23, preset: str = "veryfast",
                 audio_bitrate: int = 128_000) -> None:
        self.dst = Path(dst)
        self.tmp = temp_sibling(self.dst)
        self.height, self.crf, self.preset, self.audio_bitrate = height, crf, preset, audio_bitrate
        self.size: tuple[int, int] | None = None  # what was made: (width, height)
        self._out: av.container.OutputContainer | None = None
        self._scaler = VideoReformatter()

    def start(self, src: Path, container: av.container.InputContainer, video: av.VideoStream | None,
              audio: av.AudioStream | None) -> None:
        if video is None:
            raise NoSuitableStreamError("no video stream to make a proxy from", src)
        cc = video.codec_context
        self.rate = video.average_rate or video.guessed_rate or Fraction(25)
        self.size = proxy_size(cc.width, cc.height, cc.sample_aspect_ratio, self.height)
        # faststart puts the index first so browsers can start playing before the download ends.
        self._out = out = av.open(str(self.tmp), "w", format="mp4", options={"movflags": "+faststart"})
        self._v = cast(av.VideoStream, out.add_stream("libx264", rate=self.rate))
        self._v.width, self._v.height, self._v.pix_fmt = *self.size, "yuv420p"
        self._v.options = {"crf": str(self.crf), "preset": self.preset}
        self._v.codec_context.thread_count = 0  # x264's own threads (frame + lookahead), one per core
        self._a: av.AudioStream | None = None
        self._resampler: av.AudioResampler | None = None
        if audio is not None:
            layout = "mono" if audio.codec_context.channels == 1 else "stereo"
            self._a = cast(av.AudioStream, out.add_stream("aac", rate=_AUDIO_RATE))
            self._a.layout = layout
            self._a.bit_rate = self.audio_bitrate
            self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=_AUDIO_RATE, frame_size=_AAC_FRAME)
        self._frame_time_base = Fraction(1) / self.rate
        self._next_pts = 0
        self._samples = 0

    def on_video(self, frame: av.VideoFrame) -> None:
        assert self._out is not None and self.size is not None
        # Re-time on the output frame grid; the guard keeps pts strictly increasing
        # even for variable-frame-rate sources.
        pts = round(frame.time * self.rate) if frame.time is not None else self._next_pts
        pts = max(pts, self._next_pts)
        self._next_pts = pts + 1
        scaled = self._scaler.reformat(frame, width=self.size[0], height=self.size[1], format="yuv420p")
        # A no-op reformat hands back the decoded frame itself, which other consumers also read.
        saved = (scaled.pts, scaled.time_base)
        scaled.pts, scaled.time_base = pts, self._frame_time_base
        self._out.mux(self._v.encode(scaled))
        if scaled is frame:
            frame.pts, frame.time_base = saved

    def on_audio(self, frame: av.AudioFrame) -> None:
        if self._a is not None and self._resampler is not None:
            self._encode_audio(self._resampler.resample(frame), frame)

    def finish(self) -> Path:
        assert self._out is not None
        try:
            self._out.mux(self._v.encode(None))
            if self._a is not None and self._resampler is not None:
                self._encode_audio(self._resampler.resample(None), None)
                self._out.mux(self._a.encode(None))
            self._out.close()
            self._out = None
            os.replace(self.tmp, self.dst)
        except BaseException:
            self.abort()
            raise
        return self.dst

    def abort(self) -> None:
        if self._out is not None:
            with contextlib.suppress(Exception):  # the file is being thrown away
                self._out.close()
            self._out = None
        self.tmp.unlink(missing_ok=True)

    def _encode_audio(self, frames: list[av.AudioFrame], source: av.AudioFrame | None) -> None:
        assert self._out is not None and self._a is not None
        for frame in frames:
            saved = (frame.pts, frame.time_base)
            frame.pts = self._samples
            frame.time_base = Fraction(1, _AUDIO_RATE)
            self._samples += frame.samples
            self._out.mux(self._a.encode(frame))
            if frame is source:  # a pass-through resample: the frame is shared with other consumers
                frame.pts, frame.time_base = saved

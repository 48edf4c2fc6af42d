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

from ._av import Progress, fit_height, fit_size, temp_sibling
from .errors import NoSuitableStreamError
from .onepass import Consumer, Picture, run_one

_AUDIO_RATE = 48000
_AAC_FRAME = 1024
_COPY_RATES = (44100, 48000)
# superfast keeps CABAC and the deblocking filter (unlike ultrafast) and costs about 20% less CPU
# per pass than veryfast; at CRF 23 a 360p proxy is a little bigger and no worse to look at
PRESET = "superfast"


def make_proxy(
    src: str | Path,
    dst: str | Path,
    height: int = 360,
    crf: int = 23,
    preset: str = PRESET,
    audio_bitrate: int = 128_000,
    progress: Progress | None = None,
) -> Path:
    """Transcode ``src`` to an H.264 + AAC MP4 ``height`` lines tall (never upscaled).

    Width follows the display aspect ratio, rounded to even numbers as 4:2:0 requires.
    HDR sources are scaled but not tone-mapped.
    """
    return cast(Path, run_one(src, ProxyWriter(dst, height, crf, preset, audio_bitrate), progress))


# the height a proxy of a ``height``-line source gets, and its size: the target, never upscaled, even
proxy_height = fit_height
proxy_size = fit_size


def can_copy_audio(audio: av.AudioStream, bit_rate: int) -> bool:
    """Whether the source's audio can go into the proxy as it is: AAC-LC, mono or stereo, at a rate
    every browser plays, and not much bigger than the proxy's own AAC would be. Copying saves the
    decode and the re-encode (a tenth of a 1080p pass) and loses nothing."""
    cc = audio.codec_context
    source_rate = cc.bit_rate or audio.bit_rate or 0
    return (cc.name == "aac" and cc.profile == "LC" and cc.channels in (1, 2) and cc.sample_rate in _COPY_RATES
            and 0 < source_rate <= 2 * bit_rate)


class ProxyWriter(Consumer):
    """Encodes the pictures of a pass into ``dst``; ``finish`` renames the complete file into place.

    It runs on its own thread (x264 and the muxer overlap the decode) and takes its pictures
    already scaled by the pass. Source AAC that ``can_copy_audio`` is copied packet for packet.
    """

    wants_video = True
    threaded = True

    def __init__(self, dst: str | Path, height: int = 360, crf: int = 23, preset: str = PRESET,
                 audio_bitrate: int = 128_000) -> None:
        self.dst = Path(dst)
        self.tmp = temp_sibling(self.dst)
        self.height, self.crf, self.preset, self.audio_bitrate = height, crf, preset, audio_bitrate
        self.video_height = height
        # audio frames unless ``start`` finds audio it can copy (then packets) or none at all
        self.wants_audio, self.wants_audio_packets = True, False
        self.copied_audio = False
        self.size: tuple[int, int] | None = None  # what was made: (width, height)
        self._out: av.container.OutputContainer | None = None

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
        self.wants_audio = False
        if audio is not None and can_copy_audio(audio, self.audio_bitrate):
            self._a = cast(av.AudioStream, out.add_stream_from_template(audio))
            self.wants_audio_packets = self.copied_audio = True
        elif audio is not None:
            layout = "mono" if audio.codec_context.channels == 1 else "stereo"
            self._a = cast(av.AudioStream, out.add_stream("aac", rate=_AUDIO_RATE))
            self._a.layout = layout
            self._a.bit_rate = self.audio_bitrate
            self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=_AUDIO_RATE, frame_size=_AAC_FRAME)
            self.wants_audio = True
        self._frame_time_base = Fraction(1) / self.rate
        self._next_pts = 0
        self._samples = 0

    def on_video(self, picture: Picture) -> None:
        assert self._out is not None and self.size is not None
        # Re-time on the output frame grid; the guard keeps pts strictly increasing
        # even for variable-frame-rate sources.
        pts = round(picture.time * self.rate) if picture.time is not None else self._next_pts
        pts = max(pts, self._next_pts)
        self._next_pts = pts + 1
        frame = picture.frame
        if (frame.width, frame.height, frame.format.name) != (*self.size, "yuv420p"):
            frame = frame.reformat(width=self.size[0], height=self.size[1], format="yuv420p")
        # the frame is this consumer's to re-time: the pass hands every other consumer Picture.time
        frame.pts, frame.time_base = pts, self._frame_time_base
        self._out.mux(self._v.encode(frame))

    def on_audio(self, frame: av.AudioFrame) -> None:
        if self._resampler is not None:
            self._encode_audio(self._resampler.resample(frame))

    def on_audio_packet(self, packet: av.Packet) -> None:
        assert self._out is not None and self._a is not None
        if packet.dts is None:
            return  # a packet the muxer cannot place (none in a well-formed file)
        packet.stream = self._a
        self._out.mux(packet)

    def finish(self) -> Path:
        assert self._out is not None
        try:
            self._out.mux(self._v.encode(None))
            if self._a is not None and self._resampler is not None:
                self._encode_audio(self._resampler.resample(None))
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

    def _encode_audio(self, frames: list[av.AudioFrame]) -> None:
        assert self._out is not None and self._a is not None
        for frame in frames:  # the resampler's own frames (it buffers to AAC's frame size, so never the input)
            frame.pts = self._samples
            frame.time_base = Fraction(1, _AUDIO_RATE)
            self._samples += frame.samples
            self._out.mux(self._a.encode(frame))

"""Browse proxies: small H.264/AAC MP4s that play in any browser.

The proxy is written under a temporary name and renamed only once it is
complete, so an interrupted or failed transcode never leaves a file that
looks like a finished proxy.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import cast

import av

from ._av import Progress, Reporter, duration_of, open_input, temp_sibling
from .errors import NoSuitableStreamError

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
    src, dst = Path(src), Path(dst)
    tmp = temp_sibling(dst)
    try:
        with open_input(src) as inp:
            _transcode(inp, src, tmp, height, crf, preset, audio_bitrate, progress)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dst


def proxy_size(width: int, height: int, sample_aspect: Fraction | None, target_height: int) -> tuple[int, int]:
    display_width = width * (sample_aspect if sample_aspect else 1)
    out_h = min(target_height, height)
    out_h -= out_h % 2
    out_w = round(display_width * out_h / height / 2) * 2
    return max(out_w, 2), max(out_h, 2)


def _transcode(
    inp: av.container.InputContainer,
    src: Path,
    tmp: Path,
    height: int,
    crf: int,
    preset: str,
    audio_bitrate: int,
    progress: Progress | None,
) -> None:
    videos = [s for s in inp.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not videos:
        raise NoSuitableStreamError("no video stream to make a proxy from", src)
    v_in = videos[0]
    v_in.thread_type = "AUTO"
    a_in = inp.streams.audio[0] if inp.streams.audio else None
    rate = v_in.average_rate or v_in.guessed_rate or Fraction(25)
    sar = v_in.codec_context.sample_aspect_ratio
    out_w, out_h = proxy_size(v_in.codec_context.width, v_in.codec_context.height, sar, height)
    report = Reporter(progress, duration_of(inp))

    # faststart puts the index first so browsers can start playing before the download ends.
    with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        v_out = cast(av.VideoStream, out.add_stream("libx264", rate=rate))
        v_out.width, v_out.height, v_out.pix_fmt = out_w, out_h, "yuv420p"
        v_out.options = {"crf": str(crf), "preset": preset}
        a_out: av.AudioStream | None = None
        resampler: av.AudioResampler | None = None
        if a_in is not None:
            layout = "mono" if a_in.codec_context.channels == 1 else "stereo"
            a_out = cast(av.AudioStream, out.add_stream("aac", rate=_AUDIO_RATE))
            a_out.layout = layout
            a_out.bit_rate = audio_bitrate
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=_AUDIO_RATE, frame_size=_AAC_FRAME)
        frame_time_base = Fraction(1) / rate
        next_pts = 0
        audio_samples = 0
        for packet in inp.demux([s for s in (v_in, a_in) if s is not None]):
            for frame in packet.decode():
                assert isinstance(frame, (av.VideoFrame, av.AudioFrame))
                if frame.time is not None:
                    report(frame.time)
                if isinstance(frame, av.VideoFrame):
                    # Re-time on the output frame grid; the guard keeps pts strictly increasing
                    # even for variable-frame-rate sources.
                    pts = round(frame.time * rate) if frame.time is not None else next_pts
                    pts = max(pts, next_pts)
                    next_pts = pts + 1
                    scaled = frame.reformat(width=out_w, height=out_h, format="yuv420p")
                    scaled.pts = pts
                    scaled.time_base = frame_time_base
                    out.mux(v_out.encode(scaled))
                elif a_out is not None and resampler is not None:
                    audio_samples = _encode_audio(out, a_out, resampler.resample(frame), audio_samples)
        out.mux(v_out.encode(None))
        if a_out is not None and resampler is not None:
            _encode_audio(out, a_out, resampler.resample(None), audio_samples)
            out.mux(a_out.encode(None))
    report.finish()


def _encode_audio(
    out: av.container.OutputContainer, stream: av.AudioStream, frames: list[av.AudioFrame], samples: int
) -> int:
    for frame in frames:
        frame.pts = samples
        frame.time_base = Fraction(1, _AUDIO_RATE)
        samples += frame.samples
        out.mux(stream.encode(frame))
    return samples

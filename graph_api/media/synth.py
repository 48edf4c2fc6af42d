"""Synthetic clips with known content, for the demo corpus, the tests and the benchmark.

A clip is a sequence of shots (each a moving pattern in its own colour) separated
by hard cuts, with an optional stereo tone that has silent and clipped stretches.
Everything a detector should find is returned as ground truth, snapped to the
frame and sample grid the file actually has.

Frames are built directly as yuv420p planes from outer products of 1-D signals,
so even a 1080p, ten-minute clip costs little beyond the encoder itself.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np

from .probe import MATRIX_NAMES, PRIMARIES_NAMES, TRANSFER_NAMES

Progress = Callable[[float], None]

PATTERNS = ("stripes", "checker", "rings", "gradient")
_AUDIO_FRAME = 1024  # AAC's frame size; other encoders accept it too


@dataclass(frozen=True)
class Shot:
    pattern: str = "stripes"
    u: int = 128  # chroma planes: distinct (u, v) pairs give each shot its own hue
    v: int = 128
    luma: int = 128
    contrast: int = 60
    period: float = 24.0  # pixels per cycle at 180 lines, scaled with the height
    speed: float = 2.0  # pixels per frame at 180 lines


@dataclass(frozen=True)
class Tone:
    frequency: float = 997.0
    level_dbfs: float = -20.0  # sine peak level
    channels: int = 2
    sample_rate: int = 48000
    silence: Sequence[tuple[float, float]] = ()
    # During these stretches the tone is driven `clip_gain_db` louder and hard-clipped at full scale.
    clipped: Sequence[tuple[float, float]] = ()
    clip_gain_db: float = 30.0


@dataclass(frozen=True)
class ClipSpec:
    width: int = 320
    height: int = 180
    fps: int | Fraction = 24
    duration: float = 4.0
    shots: Sequence[Shot] = (Shot(),)
    cuts: Sequence[float] = ()  # seconds; one fewer than shots, snapped to frames
    tone: Tone | None = Tone()
    video_codec: str = "libx264"
    pix_fmt: str = "yuv420p"
    video_options: dict[str, str] = field(default_factory=lambda: {"preset": "veryfast", "crf": "23"})
    audio_codec: str = "aac"
    color_primaries: str | None = None
    color_transfer: str | None = None
    color_matrix: str | None = None
    container_options: dict[str, str] = field(default_factory=dict)
    language: str | None = None


@dataclass(frozen=True)
class ClipTruth:
    duration: float
    frame_count: int
    cuts: list[float]  # time of the first frame of each new shot
    silence: list[tuple[float, float]]
    clipping: list[tuple[float, float]]


def write_clip(path: str | Path, spec: ClipSpec, progress: Progress | None = None) -> ClipTruth:
    """Encode ``spec`` to ``path`` (written under a temporary name, renamed when complete)."""
    path = Path(path)
    if len(spec.cuts) != len(spec.shots) - 1:
        raise ValueError("need exactly one cut between consecutive shots")
    fps = Fraction(spec.fps)
    frame_count = round(spec.duration * fps)
    cut_frames = [round(t * fps) for t in spec.cuts]
    if sorted(set(cut_frames)) != cut_frames or (cut_frames and not 0 < cut_frames[0] <= cut_frames[-1] < frame_count):
        raise ValueError("cuts must be increasing and inside the clip")
    tmp = path.with_name(f".{path.name}.part{path.suffix}")
    try:
        _encode(tmp, spec, fps, frame_count, cut_frames, progress)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return clip_truth(spec)


def clip_truth(spec: ClipSpec) -> ClipTruth:
    """What ``write_clip(spec)`` produces, without encoding anything (e.g. for a clip already on disk)."""
    fps = Fraction(spec.fps)
    frame_count = round(spec.duration * fps)
    cut_frames = [round(t * fps) for t in spec.cuts]
    tone = spec.tone
    return ClipTruth(
        duration=float(frame_count / fps),
        frame_count=frame_count,
        cuts=[float(Fraction(f) / fps) for f in cut_frames],
        silence=[_snap(a, b, tone.sample_rate) for a, b in tone.silence] if tone else [],
        clipping=[_snap(a, b, tone.sample_rate) for a, b in tone.clipped] if tone else [],
    )


def _snap(start: float, end: float, rate: int) -> tuple[float, float]:
    return round(start * rate) / rate, round(end * rate) / rate


def _encode(
    path: Path, spec: ClipSpec, fps: Fraction, frame_count: int, cut_frames: list[int], progress: Progress | None
) -> None:
    with av.open(str(path), "w", format=_format_for(path), options=spec.container_options) as out:
        video = cast(av.VideoStream, out.add_stream(spec.video_codec, rate=fps))
        video.width, video.height, video.pix_fmt = spec.width, spec.height, spec.pix_fmt
        video.options = dict(spec.video_options)
        cc = video.codec_context
        if spec.color_primaries:
            cc.color_primaries = _code(PRIMARIES_NAMES, spec.color_primaries)
        if spec.color_transfer:
            cc.color_trc = _code(TRANSFER_NAMES, spec.color_transfer)
        if spec.color_matrix:
            cc.colorspace = _code(MATRIX_NAMES, spec.color_matrix)
        audio: av.AudioStream | None = None
        tone = spec.tone
        if tone is not None:
            audio = cast(av.AudioStream, out.add_stream(spec.audio_codec, rate=tone.sample_rate))
            audio.layout = "stereo" if tone.channels == 2 else "mono"
            if spec.language:
                audio.metadata["language"] = spec.language
        if spec.language:
            video.metadata["language"] = spec.language

        painter = _Painter(spec)
        samples_done = 0
        total_samples = round(frame_count / fps * tone.sample_rate) if tone else 0
        bounds = [0, *cut_frames, frame_count]
        for shot_index, shot in enumerate(spec.shots):
            for index in range(bounds[shot_index], bounds[shot_index + 1]):
                frame = painter.frame(shot, index - bounds[shot_index])
                frame.pts = index
                out.mux(video.encode(frame))
                # Keep audio just ahead of video so the muxer interleaves without buffering much.
                if audio is not None and tone is not None:
                    until = min(total_samples, round((index + 1) / fps * tone.sample_rate))
                    while samples_done < until:
                        n = min(_AUDIO_FRAME, total_samples - samples_done)
                        out.mux(audio.encode(_tone_frame(tone, samples_done, n)))
                        samples_done += n
                if progress is not None and index % 24 == 0:
                    progress(index / frame_count)
        out.mux(video.encode(None))
        if audio is not None:
            out.mux(audio.encode(None))
    if progress is not None:
        progress(1.0)


def _format_for(path: Path) -> str | None:
    return {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".m4a": "mp4", ".wav": "wav"}.get(path.suffix.lower())


def _code(names: dict[int, str], name: str) -> int:
    for code, candidate in names.items():
        if candidate == name:
            return code
    raise ValueError(f"unknown colour name {name!r}")


class _Painter:
    """Builds yuv420p frames from 1-D uint8 profiles combined by broadcasting.

    Working in uint8 end to end (no 2-D float arrays) keeps a 1080p frame at a few
    milliseconds, so generating a long benchmark clip is bounded by the encoder.
    """

    def __init__(self, spec: ClipSpec) -> None:
        self.w, self.h = spec.width, spec.height
        self.scale = spec.height / 180
        self.pix_fmt = spec.pix_fmt
        self.x = np.arange(self.w, dtype=np.float64)
        self.y = np.arange(self.h, dtype=np.float64)
        self.buffer = np.empty((self.h * 3 // 2, self.w), dtype=np.uint8)
        self.mask = np.empty((self.h, self.w), dtype=bool)

    def frame(self, shot: Shot, n: int) -> av.VideoFrame:
        k = 2 * math.pi / (shot.period * self.scale)
        shift = shot.speed * self.scale * n
        lo, hi = max(16, shot.luma - shot.contrast), min(235, shot.luma + shot.contrast)
        y_plane = self.buffer[: self.h]
        if shot.pattern == "stripes":
            y_plane[:] = _u8(lo + (hi - lo) * (0.5 + 0.5 * np.sin(k * (self.x - shift))))[None, :]
        elif shot.pattern == "checker":
            np.not_equal(
                (np.sin(k * (self.y + 0.5 * shift)) > 0)[:, None], (np.sin(k * (self.x - shift)) > 0)[None, :],
                out=self.mask,
            )
            np.multiply(self.mask, hi - lo, out=y_plane, casting="unsafe")
            y_plane += lo
        elif shot.pattern in ("rings", "gradient"):
            # Sum of a column profile and a row profile, each spanning half the luma range.
            half = (hi - lo) / 2
            if shot.pattern == "rings":
                col = 0.5 + 0.5 * np.sin(0.7 * k * (self.y - shift))
                row = 0.5 + 0.5 * np.cos(0.7 * k * (self.x + shift))
            else:
                col = self.y / self.h
                row = ((self.x + shift * 4) % self.w) / self.w
            np.add(_u8(lo + half * col)[:, None], _u8(half * row)[None, :], out=y_plane)
        else:
            raise ValueError(f"unknown pattern {shot.pattern!r}")
        chroma = self.buffer[self.h :]
        quarter = chroma.shape[0] // 2
        chroma[:quarter] = shot.u
        chroma[quarter:] = shot.v
        frame = av.VideoFrame.from_ndarray(self.buffer, format="yuv420p")
        return frame if self.pix_fmt == "yuv420p" else frame.reformat(format=self.pix_fmt)


def _u8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _tone_frame(tone: Tone, first: int, count: int) -> av.AudioFrame:
    rate = tone.sample_rate
    n = np.arange(first, first + count, dtype=np.float64)
    amplitude = 10 ** (tone.level_dbfs / 20)
    signal = amplitude * np.sin(2 * math.pi * tone.frequency * n / rate)
    t = n / rate
    for start, end in tone.clipped:
        inside = (t >= round(start * rate) / rate) & (t < round(end * rate) / rate)
        signal[inside] = np.clip(signal[inside] * 10 ** (tone.clip_gain_db / 20), -1.0, 1.0)
    for start, end in tone.silence:
        inside = (t >= round(start * rate) / rate) & (t < round(end * rate) / rate)
        signal[inside] = 0.0
    planes = np.repeat(signal.astype(np.float32)[None, :], tone.channels, axis=0)
    frame = av.AudioFrame.from_ndarray(planes, format="fltp", layout="stereo" if tone.channels == 2 else "mono")
    frame.sample_rate = rate
    frame.pts = first
    return frame


def palette(index: int) -> tuple[int, int]:
    """A well-separated (u, v) chroma pair for shot ``index``: hues walk around the colour wheel."""
    angle = index * 2.399963  # golden angle, so consecutive shots never share a hue
    return int(128 + 90 * math.cos(angle)), int(128 + 90 * math.sin(angle))

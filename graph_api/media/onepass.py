"""One decode of a source, fanned out to every consumer that needs its pictures or sound.

Decoding a 1080p source costs as much as everything done with its frames afterwards, so the
proxy, shot detection, frame grabbing and audio analysis share one demux and one decode
(frame-threaded) instead of each reading the file again. Each consumer scales what it needs
with its own reused swscale context (made once, not once per frame).

A consumer that fails is dropped with its own error and the others go on; a decode error on
a stream fails only the consumers of that stream. So a pass gives every consumer either its
result or its error, as separate runs would have. KeyboardInterrupt aborts every consumer
(each removes its partial output) and goes on up.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import av

from ._av import Progress, Reporter, duration_of, open_input
from .errors import CorruptMediaError, MediaError, UnsupportedCodecError


class Consumer:
    """What a pass feeds. ``start`` may raise (e.g. NoSuitableStreamError): that consumer fails.
    ``abort`` removes whatever partial output the consumer made."""

    wants_video = False
    wants_audio = False

    def start(self, src: Path, container: av.container.InputContainer, video: av.VideoStream | None,
              audio: av.AudioStream | None) -> None:
        raise NotImplementedError

    def on_video(self, frame: av.VideoFrame) -> None:
        return None

    def on_audio(self, frame: av.AudioFrame) -> None:
        return None

    def finish(self) -> Any:
        raise NotImplementedError

    def abort(self) -> None:
        return None


def main_video(container: av.container.InputContainer) -> av.VideoStream | None:
    """The first real picture stream (cover art attached to audio files is not one)."""
    videos = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    return videos[0] if videos else None


def run_pass(src: str | Path, consumers: Mapping[str, Consumer],
             progress: Progress | None = None) -> dict[str, Any]:
    """Decode ``src`` once for all ``consumers``; returns each one's result, or the exception it failed with."""
    src = Path(src)
    results: dict[str, Any] = {}
    live: dict[str, Consumer] = {}
    try:
        with open_input(src) as container:
            video = main_video(container) if any(c.wants_video for c in consumers.values()) else None
            audio = (container.streams.audio[0] if container.streams.audio
                     and any(c.wants_audio for c in consumers.values()) else None)
            if video is not None:
                # frame threads as well as slice threads: the decoder works ahead on the other core
                video.thread_type = "AUTO"
            for name, consumer in consumers.items():
                try:
                    consumer.start(src, container, video, audio)
                    live[name] = consumer
                except Exception as exc:  # noqa: BLE001 - kept as that consumer's result
                    results[name] = _media_error(exc, src)
                    consumer.abort()
            _decode(container, src, video, audio, live, results, Reporter(progress, duration_of(container)))
    except BaseException as exc:
        for consumer in live.values():
            consumer.abort()
        if not isinstance(exc, Exception):
            raise
        # opening the file failed: every consumer fails with the same error
        return {name: results.get(name, exc) for name in consumers}
    for name, consumer in live.items():
        try:
            results[name] = consumer.finish()
        except Exception as exc:  # noqa: BLE001
            consumer.abort()
            results[name] = _media_error(exc, src)
    return {name: results[name] for name in consumers}


def run_one(src: str | Path, consumer: Consumer, progress: Progress | None = None) -> Any:
    """A pass with one consumer: its result, or its error raised."""
    result = run_pass(src, {"only": consumer}, progress)["only"]
    if isinstance(result, BaseException):
        raise result
    return result


def _decode(container: av.container.InputContainer, src: Path, video: av.VideoStream | None,
            audio: av.AudioStream | None, live: dict[str, Consumer], results: dict[str, Any],
            report: Reporter) -> None:
    def drop(names: list[str], exc: BaseException) -> None:
        for name in names:
            live.pop(name).abort()
            results[name] = _media_error(exc, src)

    streams = [s for s in (video, audio) if s is not None
               and any(c.wants_video if s is video else c.wants_audio for c in live.values())]
    if not streams:
        report.finish()
        return
    for packet in container.demux(streams):
        is_video = packet.stream is video
        users = [n for n, c in live.items() if (c.wants_video if is_video else c.wants_audio)]
        if not users:
            if not live:
                break
            continue
        try:
            frames = cast(list[av.VideoFrame | av.AudioFrame], packet.decode())
        except av.error.FFmpegError as exc:
            drop(users, exc)
            continue
        for frame in frames:
            if frame.time is not None:
                report(frame.time)
            for name in users:
                consumer = live.get(name)
                if consumer is None:
                    continue
                try:
                    if isinstance(frame, av.VideoFrame):
                        consumer.on_video(frame)
                    else:
                        consumer.on_audio(frame)
                except Exception as exc:  # noqa: BLE001
                    drop([name], exc)
    report.finish()


def _media_error(exc: BaseException, src: Path) -> BaseException:
    if isinstance(exc, MediaError) or not isinstance(exc, av.error.FFmpegError):
        return exc
    if isinstance(exc, av.error.DecoderNotFoundError):
        return UnsupportedCodecError(str(exc.strerror), src)
    return CorruptMediaError(f"decoding failed ({exc.strerror})", src)

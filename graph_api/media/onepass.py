"""One decode of a source, fanned out to every consumer that needs its pictures or sound.

Decoding a 1080p source costs as much as everything done with its frames afterwards, so the
proxy, shot detection, frame grabbing and audio analysis share one demux and one decode
(frame-threaded) instead of each reading the file again. Scaling is shared too: a consumer
names the height it works at (``video_height``) and the pass scales each frame once per
height in swscale, so the proxy encoder and the shot detector read the same small picture
instead of each shrinking 1080p on its own. A consumer that wants the source's own packets
(``wants_audio_packets``: the proxy copying AAC) gets them without a decode.

A ``threaded`` consumer runs on its own thread behind a short queue, so an encoder or an
analysis overlaps the decode; FFmpeg releases the GIL while it decodes, scales, encodes and
muxes, so the two cores are both used. Pictures and frames are shared between consumers:
read ``Picture.time``, never ``frame.time``, since a threaded consumer may re-time the frame
it was handed.

A consumer that fails is dropped with its own error and the others go on; a decode error on
a stream fails only the consumers of that stream. So a pass gives every consumer either its
result or its error, as separate runs would have. KeyboardInterrupt aborts every consumer
(each removes its partial output) and goes on up.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, cast

import av
from av.video.reformatter import VideoReformatter

from ._av import Progress, Reporter, duration_of, fit_size, open_input
from .errors import CorruptMediaError, MediaError, UnsupportedCodecError

# Area averaging is a proper box filter for the 3x shrink 1080p -> 360p (no aliasing on fine
# patterns, which would flicker in a proxy and in colour histograms) at under half the CPU of
# swscale's default bilinear-with-prefilter.
SCALE_INTERPOLATION = "AREA"
# Pictures a threaded consumer may lag behind the decode: enough to ride out an encoder's
# bursts (x264 lookahead), few enough that held 1080p frames stay a few tens of MB.
_QUEUE_DEPTH = 16


class Picture(NamedTuple):
    """A decoded picture as a consumer gets it: ``frame`` is scaled to the consumer's
    ``video_height`` (yuv420p) when it named one, else as decoded."""

    time: float | None  # presentation seconds; None when the source gave the frame no timestamp
    frame: av.VideoFrame


class Consumer:
    """What a pass feeds. ``start`` may raise (e.g. NoSuitableStreamError): that consumer fails.
    ``abort`` removes whatever partial output the consumer made. ``start`` may change the
    ``wants_*`` flags (the proxy takes packets instead of frames when it can copy the audio)."""

    wants_video = False
    wants_audio = False
    wants_audio_packets = False
    video_height: int | None = None
    threaded = False

    def start(self, src: Path, container: av.container.InputContainer, video: av.VideoStream | None,
              audio: av.AudioStream | None) -> None:
        raise NotImplementedError

    def on_video(self, picture: Picture) -> None:
        return None

    def on_audio(self, frame: av.AudioFrame) -> None:
        return None

    def on_audio_packet(self, packet: av.Packet) -> None:
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
    live: dict[str, _Feed] = {}
    try:
        with open_input(src) as container:
            try:
                video, audio = _start(container, src, consumers, live, results)
                _decode(container, src, video, audio, live, results, Reporter(progress, duration_of(container)))
                # finish inside the `with`: a threaded consumer may still hold packets of this container
                for name, feed in list(live.items()):
                    result = feed.finish()
                    if isinstance(result, _Failed):
                        feed.abort()
                        result = _media_error(result.error, src)
                    results[name] = result
            except BaseException:
                # stop every consumer's thread while the input is still open
                for feed in live.values():
                    feed.abort()
                live.clear()
                raise
    except Exception as exc:
        # opening or reading the file failed: every consumer still running fails with the same error
        return {name: results.get(name, exc) for name in consumers}
    return {name: results[name] for name in consumers}


def _start(container: av.container.InputContainer, src: Path, consumers: Mapping[str, Consumer],
           live: dict[str, _Feed], results: dict[str, Any]) -> tuple[av.VideoStream | None, av.AudioStream | None]:
    """Starts every consumer on the streams the pass reads, which it returns (video, audio)."""
    wants = consumers.values()
    video = main_video(container) if any(c.wants_video for c in wants) else None
    audio = (container.streams.audio[0] if container.streams.audio
             and any(c.wants_audio or c.wants_audio_packets for c in wants) else None)
    if video is not None:
        # frame threads as well as slice threads: the decoder works ahead on the other core
        video.thread_type = "AUTO"
    for name, consumer in consumers.items():
        try:
            consumer.start(src, container, video, audio)
        except Exception as exc:  # noqa: BLE001 - kept as that consumer's result
            results[name] = _media_error(exc, src)
            consumer.abort()
        else:
            live[name] = _Threaded(name, consumer) if consumer.threaded else _Feed(consumer)
    return video, audio


def run_one(src: str | Path, consumer: Consumer, progress: Progress | None = None) -> Any:
    """A pass with one consumer: its result, or its error raised."""
    result = run_pass(src, {"only": consumer}, progress)["only"]
    if isinstance(result, BaseException):
        raise result
    return result


def _decode(container: av.container.InputContainer, src: Path, video: av.VideoStream | None,
            audio: av.AudioStream | None, live: dict[str, _Feed], results: dict[str, Any],
            report: Reporter) -> None:
    def drop(name: str, exc: BaseException) -> None:
        live.pop(name).abort()
        results[name] = _media_error(exc, src)

    def users(wants: str) -> list[str]:
        return [n for n, f in live.items() if getattr(f.consumer, wants)]

    streams = [s for s in (video, audio) if s is not None
               and (users("wants_video") if s is video else users("wants_audio") + users("wants_audio_packets"))]
    if not streams:
        report.finish()
        return
    scalers = _Scalers(video, [f.consumer.video_height for f in live.values() if f.consumer.wants_video])
    for packet in container.demux(streams):
        is_video = packet.stream is video
        decoders = users("wants_video" if is_video else "wants_audio")
        copiers = [] if is_video else users("wants_audio_packets")
        if not decoders and not copiers:
            if not live:
                break
            continue
        frames: list[av.VideoFrame | av.AudioFrame] = []
        if decoders:
            try:
                frames = cast(list[av.VideoFrame | av.AudioFrame], packet.decode())
            except av.error.FFmpegError as exc:
                for name in decoders:
                    drop(name, exc)
        for frame in frames:
            if frame.time is not None:
                report(frame.time)
            if isinstance(frame, av.VideoFrame):
                scaled = scalers(frame)
                for name in decoders:
                    feed = live.get(name)
                    if feed is not None:
                        height = feed.consumer.video_height
                        _feed(live, drop, name, feed.video, Picture(frame.time, scaled.get(height, frame)))
            else:
                for name in decoders:
                    feed = live.get(name)
                    if feed is not None:
                        _feed(live, drop, name, feed.audio, frame)
        if packet.size:  # the demuxer's empty flush packet is no data to copy
            for name in copiers:
                feed = live.get(name)
                if feed is not None:
                    _feed(live, drop, name, feed.packet, packet)
    report.finish()


def _feed(live: dict[str, _Feed], drop: Any, name: str, hand: Any, item: Any) -> None:
    try:
        hand(item)
    except Exception as exc:  # noqa: BLE001 - that consumer's failure, not the pass's
        drop(name, exc)


class _Scalers:
    """One reused swscale context per height the consumers asked for; each frame is scaled once per height."""

    def __init__(self, video: av.VideoStream | None, heights: list[int | None]) -> None:
        self.sizes: dict[int, tuple[int, int]] = {}
        if video is not None:
            cc = video.codec_context
            self.sizes = {h: fit_size(cc.width, cc.height, cc.sample_aspect_ratio, h)
                          for h in sorted({h for h in heights if h is not None})}
        self.reformatters = {h: VideoReformatter() for h in self.sizes}

    def __call__(self, frame: av.VideoFrame) -> dict[int | None, av.VideoFrame]:
        return {h: self.reformatters[h].reformat(frame, width=w, height=hh, format="yuv420p",
                                                 interpolation=SCALE_INTERPOLATION)
                for h, (w, hh) in self.sizes.items()}


class _Failed(NamedTuple):
    error: BaseException


class _Feed:
    """Hands a consumer its input on the decoding thread."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer

    def video(self, picture: Picture) -> None:
        self.consumer.on_video(picture)

    def audio(self, frame: av.AudioFrame) -> None:
        self.consumer.on_audio(frame)

    def packet(self, packet: av.Packet) -> None:
        self.consumer.on_audio_packet(packet)

    def finish(self) -> Any:
        try:
            return self.consumer.finish()
        except Exception as exc:  # noqa: BLE001
            return _Failed(exc)

    def abort(self) -> None:
        self.consumer.abort()


_END = "end"
_STOP = "stop"


class _Threaded(_Feed):
    """Hands a consumer its input through a bounded queue to its own thread.

    The consumer's methods, ``finish`` included, run only on that thread; ``abort`` runs on the
    caller's once the thread has stopped, so the two never touch the consumer's files at once.
    A failure on the thread is raised on the caller's at the next hand-over, where the pass
    drops the consumer as it would a direct one.
    """

    def __init__(self, name: str, consumer: Consumer) -> None:
        super().__init__(consumer)
        self.queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self.error: BaseException | None = None
        self.result: Any = None
        self.cancelled = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"pass-{name}", daemon=True)
        self.thread.start()

    def video(self, picture: Picture) -> None:
        self._put("video", picture)

    def audio(self, frame: av.AudioFrame) -> None:
        self._put("audio", frame)

    def packet(self, packet: av.Packet) -> None:
        self._put("packet", packet)

    def finish(self) -> Any:
        self.queue.put((_END, None))
        self.thread.join()
        return _Failed(self.error) if self.error is not None else self.result

    def abort(self) -> None:
        if self.thread.is_alive():
            self.cancelled.set()
            self.queue.put((_STOP, None))
            self.thread.join()
        self.consumer.abort()

    def _put(self, kind: str, item: Any) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((kind, item))

    def _run(self) -> None:
        consumer = self.consumer
        while True:
            kind, item = self.queue.get()
            if kind == _STOP:
                return
            if self.error is not None or self.cancelled.is_set():
                if kind == _END:
                    return
                continue  # keep draining, so the decoding thread never blocks on a full queue
            try:
                if kind == "video":
                    consumer.on_video(item)
                elif kind == "audio":
                    consumer.on_audio(item)
                elif kind == "packet":
                    consumer.on_audio_packet(item)
                else:
                    self.result = consumer.finish()
                    return
            except Exception as exc:  # noqa: BLE001 - raised on the decoding thread at the next hand-over
                self.error = exc
                if kind == _END:
                    return


def _media_error(exc: BaseException, src: Path) -> BaseException:
    if isinstance(exc, MediaError) or not isinstance(exc, av.error.FFmpegError):
        return exc
    if isinstance(exc, av.error.DecoderNotFoundError):
        return UnsupportedCodecError(str(exc.strerror), src)
    return CorruptMediaError(f"decoding failed ({exc.strerror})", src)

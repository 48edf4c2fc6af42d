"""Probing: what a file is, technically, and whether it can actually be decoded.

``probe()`` reads the whole file once for the sha256 checksum, opens it with
PyAV, describes every stream, and decodes the first frame of the main video
and audio streams, because a header alone can look fine on a truncated file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from .errors import CorruptMediaError, NotMediaError, UnreadableError, UnsupportedCodecError
from .kinds import MediaType
from .subtitles import SUBTITLE_SUFFIXES, read_subtitles

Progress = Callable[[float], None]

_CHUNK = 1 << 20
# Enough packets to get past B-frame reordering and codec delay; a file that yields no frame
# within this many packets of a stream is not going to decode.
_MAX_PACKETS_FOR_FIRST_FRAME = 600

# FFmpeg's own names for the AVColor* enums, so stored values match `ffprobe` output.
PRIMARIES_NAMES = {
    1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film",
    9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213",
}
TRANSFER_NAMES = {
    1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear",
    9: "log100", 10: "log316", 11: "iec61966-2-4", 12: "bt1361e", 13: "iec61966-2-1",
    14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 17: "smpte428", 18: "arib-std-b67",
}
MATRIX_NAMES = {
    0: "gbr", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco",
    9: "bt2020nc", 10: "bt2020c", 11: "smpte2085", 12: "chroma-derived-nc",
    13: "chroma-derived-c", 14: "ictcp",
}
_RANGE = {1: "tv", 2: "pc"}
_HDR_BY_TRANSFER = {"smpte2084": "PQ", "arib-std-b67": "HLG"}

_IMAGE_CODECS = frozenset({"png", "mjpeg", "jpeg2000", "bmp", "tiff", "webp", "gif", "jpegls", "qoi"})

# Leading bytes of containers we accept; a file that starts like one of these but fails to
# open is corrupt, anything else is simply not media.
_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (4, b"ftyp"), (4, b"moov"), (4, b"mdat"), (4, b"free"), (4, b"wide"),
    (0, b"RIFF"), (0, b"\x1a\x45\xdf\xa3"), (0, b"OggS"), (0, b"fLaC"), (0, b"ID3"),
    (0, b"\xff\xd8\xff"), (0, b"\x89PNG"), (0, b"GIF8"), (0, b"FORM"), (0, b"\x00\x00\x01\xba"),
    (0, b"\x47"), (0, b"\xff\xf1"), (0, b"\xff\xf9"), (0, b"\xff\xfb"),
)


@dataclass(frozen=True)
class Probe:
    path: Path
    media_type: MediaType
    container: str
    size_bytes: int
    checksum: str
    duration_seconds: float | None = None
    width: int | None = None
    height: int | None = None
    frame_rate: float | None = None
    cue_count: int | None = None
    streams: list[dict[str, Any]] = field(default_factory=list)

    def technical(self) -> dict[str, Any]:
        """JSON-able description as stored in the lake (no local path: the lake stores its own URI)."""
        out: dict[str, Any] = {
            "media_type": self.media_type.value,
            "container": self.container,
            "duration_seconds": self.duration_seconds,
            "size_bytes": self.size_bytes,
            "checksum": self.checksum,
            "width": self.width,
            "height": self.height,
            "frame_rate": self.frame_rate,
            "streams": [dict(s) for s in self.streams],
        }
        if self.cue_count is not None:
            out["cue_count"] = self.cue_count
        return out


def probe(path: str | Path, progress: Progress | None = None) -> Probe:
    path = Path(path)
    size = _stat_size(path)
    checksum, head = sha256_file(path, progress)
    if path.suffix.lower() in SUBTITLE_SUFFIXES:
        return _probe_subtitles(path, size, checksum)
    if not head:
        raise NotMediaError("empty file", path)
    if _looks_like_text(head):
        raise NotMediaError("text file, not audio, video or image", path)
    try:
        container = av.open(str(path))
    except av.error.InvalidDataError as exc:
        if _has_media_signature(head):
            raise CorruptMediaError(f"cannot be opened ({exc.strerror})", path) from exc
        raise NotMediaError("not a recognised media format", path) from exc
    except PermissionError as exc:
        raise UnreadableError("permission denied", path) from exc
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(f"cannot be opened ({exc.strerror})", path) from exc
    with container:
        return _probe_container(container, path, size, checksum)


def sha256_file(path: Path, progress: Progress | None = None) -> tuple[str, bytes]:
    """Streamed ``sha256:<hex>`` of the file, plus its first bytes for sniffing."""
    digest = hashlib.sha256()
    head = b""
    total = max(_stat_size(path), 1)
    done = 0
    try:
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                if not head:
                    head = chunk[:8192]
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(min(done / total, 1.0))
    except OSError as exc:
        raise UnreadableError(exc.strerror or str(exc), path) from exc
    return f"sha256:{digest.hexdigest()}", head


def _stat_size(path: Path) -> int:
    try:
        st = path.stat()
    except OSError as exc:
        raise UnreadableError(exc.strerror or str(exc), path) from exc
    if path.is_dir():
        raise UnreadableError("is a directory", path)
    if not os.access(path, os.R_OK):
        raise UnreadableError("permission denied", path)
    return st.st_size


def _probe_subtitles(path: Path, size: int, checksum: str) -> Probe:
    cues = read_subtitles(path)
    fmt = "webvtt" if path.suffix.lower() == ".vtt" else "srt"
    language = _language_from_name(path)
    stream = {"index": 0, "type": "subtitle", "codec": "webvtt" if fmt == "webvtt" else "subrip",
              "language": language, "cue_count": len(cues)}
    return Probe(
        path=path, media_type=MediaType.TEXT, container=fmt, size_bytes=size, checksum=checksum,
        duration_seconds=max((c.end for c in cues), default=0.0), cue_count=len(cues), streams=[stream],
    )


def _language_from_name(path: Path) -> str | None:
    # "film.en.srt" / "film.pt-BR.vtt" is the common convention for sidecar subtitles.
    suffixes = path.suffixes
    if len(suffixes) >= 2:
        tag = suffixes[-2].lstrip(".")
        if 2 <= len(tag) <= 5 and tag.replace("-", "").isalpha():
            return tag
    return None


def _probe_container(container: av.container.InputContainer, path: Path, size: int, checksum: str) -> Probe:
    streams = [_describe_stream(s, path) for s in container.streams]
    video = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    audio = list(container.streams.audio)
    fmt_name = container.format.name
    if video and (fmt_name == "image2" or fmt_name.endswith("_pipe") or
                  (video[0].codec_context.name in _IMAGE_CODECS and (video[0].frames or 1) <= 1)):
        media_type = MediaType.IMAGE
    elif video:
        media_type = MediaType.VIDEO
    elif audio:
        media_type = MediaType.AUDIO
    else:
        raise NotMediaError("no audio or video stream", path)

    _check_index_within_file(container, path, size)
    decode = ([video[0]] if video else []) + (audio[:1] if media_type is not MediaType.IMAGE else [])
    first_frames = _decode_first_frames(container, decode, path)

    main = video[0] if video else None
    if main is not None:
        _fill_colour_from_frame(streams[main.index], first_frames.get(main.index))
    duration = None
    if media_type is not MediaType.IMAGE:
        duration = _container_duration(container)
    return Probe(
        path=path,
        media_type=media_type,
        container=_short_format_name(fmt_name, path),
        size_bytes=size,
        checksum=checksum,
        duration_seconds=duration,
        width=main.codec_context.width if main is not None else None,
        height=main.codec_context.height if main is not None else None,
        frame_rate=streams[main.index].get("frame_rate") if main is not None and media_type is MediaType.VIDEO else None,
        streams=streams,
    )


def _short_format_name(name: str, path: Path) -> str:
    # FFmpeg names demuxers by family ("mov,mp4,m4a,3gp,3g2,mj2"); the file's suffix picks the member.
    names = name.split(",")
    suffix = path.suffix.lower().lstrip(".")
    return suffix if suffix in names else names[0]


def _describe_stream(stream: av.stream.Stream, path: Path) -> dict[str, Any]:
    cc = stream.codec_context
    info: dict[str, Any] = {"index": stream.index, "type": stream.type}
    if cc is None:
        if stream.type in ("video", "audio"):
            raise UnsupportedCodecError(f"no decoder for {stream.type} stream #{stream.index}", path)
        info["codec"] = None
        return info
    language = stream.language or stream.metadata.get("language")
    info.update(
        codec=cc.name,
        profile=stream.profile,
        bit_rate=cc.bit_rate or None,
        language=None if language in (None, "", "und") else language,
        duration_seconds=_stream_duration(stream),
    )
    if isinstance(cc, av.VideoCodecContext):
        rate = stream.average_rate or stream.guessed_rate
        transfer = TRANSFER_NAMES.get(cc.color_trc)
        info.update(
            width=cc.width,
            height=cc.height,
            frame_rate=round(float(rate), 6) if rate else None,
            pix_fmt=cc.pix_fmt,
            color_primaries=PRIMARIES_NAMES.get(cc.color_primaries),
            color_transfer=transfer,
            color_matrix=MATRIX_NAMES.get(cc.colorspace),
            color_range=_RANGE.get(cc.color_range),
            hdr=_HDR_BY_TRANSFER.get(transfer or "", "none"),
        )
    elif isinstance(cc, av.AudioCodecContext):
        info.update(
            channels=cc.channels,
            sample_rate=cc.sample_rate,
            layout=cc.layout.name if cc.layout is not None else None,
            sample_fmt=cc.format.name if cc.format is not None else None,
        )
    return info


def _fill_colour_from_frame(info: dict[str, Any], frame: av.VideoFrame | None) -> None:
    # Some containers carry no colour tags at stream level; the decoded frame has the bitstream's.
    if frame is None:
        return
    for key, value, names in (
        ("color_primaries", frame.color_primaries, PRIMARIES_NAMES),
        ("color_transfer", frame.color_trc, TRANSFER_NAMES),
        ("color_matrix", frame.colorspace, MATRIX_NAMES),
    ):
        if info.get(key) is None and value in names:
            info[key] = names[value]
    info["hdr"] = _HDR_BY_TRANSFER.get(info.get("color_transfer") or "", "none")


def _stream_duration(stream: av.stream.Stream) -> float | None:
    if stream.duration is None or stream.time_base is None:
        return None
    return round(float(stream.duration * stream.time_base), 6)


def _container_duration(container: av.container.InputContainer) -> float | None:
    if container.duration is not None:
        return round(container.duration / av.time_base, 6)
    durations = [d for s in container.streams if (d := _stream_duration(s)) is not None]
    return max(durations, default=None)


def _check_index_within_file(container: av.container.InputContainer, path: Path, size: int) -> None:
    # MP4/MOV with the index up front still opens after truncation; its sample table then
    # points past the end of the file, which is cheap to check without decoding everything.
    for stream in container.streams:
        entries = stream.index_entries
        if entries and len(entries):
            last = entries[len(entries) - 1]
            if last.pos >= 0 and last.pos + last.size > size:
                raise CorruptMediaError(
                    f"truncated: stream #{stream.index} needs {last.pos + last.size} bytes, file has {size}",
                    path,
                )


def _decode_first_frames(
    container: av.container.InputContainer, streams: Sequence[av.stream.Stream], path: Path
) -> dict[int, Any]:
    if not streams:
        return {}
    wanted = {s.index for s in streams}
    frames: dict[int, Any] = {}
    packets = 0
    try:
        for packet in container.demux(streams):
            packets += 1
            for frame in packet.decode():
                frames.setdefault(packet.stream.index, frame)
            if wanted <= frames.keys() or packets > _MAX_PACKETS_FOR_FIRST_FRAME * len(streams):
                break
    except av.error.DecoderNotFoundError as exc:
        raise UnsupportedCodecError(str(exc.strerror), path) from exc
    except av.error.FFmpegError as exc:
        raise CorruptMediaError(f"cannot be decoded ({exc.strerror})", path) from exc
    missing = wanted - frames.keys()
    if missing:
        kinds = ", ".join(f"#{i}" for i in sorted(missing))
        raise CorruptMediaError(f"no decodable frame in stream {kinds}", path)
    return frames


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the 8 KB window is still text.
        if exc.start < len(head) - 4:
            return False
    printable = sum(32 <= b < 127 or b in (9, 10, 13) or b >= 128 for b in head)
    return printable / len(head) > 0.95


def _has_media_signature(head: bytes) -> bool:
    return any(head[offset : offset + len(sig)] == sig for offset, sig in _SIGNATURES)

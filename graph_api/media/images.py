"""Still images in and out, through FFmpeg's own PNG/JPEG codecs (no imaging library needed)."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np

from .errors import CorruptMediaError, NotMediaError, UnreadableError

_ENCODERS = {".jpg": ("mjpeg", "yuvj420p"), ".jpeg": ("mjpeg", "yuvj420p"), ".png": ("png", "rgb24")}
_JPEG_QSCALE = 3  # 2 (best) .. 31; 3 keeps thumbnails sharp at a few KB


def encode_image(frame: av.VideoFrame | np.ndarray, suffix: str = ".jpg") -> bytes:
    """Encode one RGB frame (or HxWx3 uint8 array) as a JPEG or PNG file's bytes."""
    try:
        codec, pix_fmt = _ENCODERS[suffix.lower()]
    except KeyError:
        raise ValueError(f"unsupported image suffix {suffix!r}; use .jpg or .png") from None
    if isinstance(frame, np.ndarray):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame, dtype=np.uint8), format="rgb24")
    ctx = cast(av.VideoCodecContext, av.CodecContext.create(codec, "w"))
    ctx.width, ctx.height, ctx.pix_fmt = frame.width, frame.height, pix_fmt
    ctx.time_base = Fraction(1)
    if codec == "mjpeg":
        # Pinning the quantiser range is how a fixed JPEG quality is set through PyAV.
        ctx.qmin = ctx.qmax = _JPEG_QSCALE
    image = frame.reformat(format=pix_fmt)
    image.pts = 0
    return b"".join(bytes(p) for p in [*ctx.encode(image), *ctx.encode(None)])


def write_image(path: str | Path, frame: av.VideoFrame | np.ndarray) -> Path:
    """Write atomically: a reader never sees a half-written thumbnail."""
    path = Path(path)
    data = encode_image(frame, path.suffix)
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_image(path: str | Path) -> np.ndarray:
    """Decode the first picture of an image (or video) file to an HxWx3 uint8 RGB array."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableError("no such file", path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise NotMediaError("no picture in file", path)
            for frame in container.decode(video=0):
                return frame.to_ndarray(format="rgb24")
    except av.error.InvalidDataError as exc:
        raise CorruptMediaError(f"cannot be decoded ({exc.strerror})", path) from exc
    except PermissionError as exc:
        raise UnreadableError("permission denied", path) from exc
    raise CorruptMediaError("no decodable picture", path)

"""``/media/{assetId}``: an asset's bytes, for browsers (a proxy in ``<video>``, a frame in ``<img>``).

    GET|HEAD /media/asset_...            with ``Authorization: Bearer ...`` (or auth off)
    GET|HEAD /media/asset_...?v=&exp=&tok=&sig=    a signed URL from ``Asset.mediaUrl``

Entitlements are GraphQL's: the asset is read through the caller's lake view, so an asset of a title
the caller may not see is 404, as if it did not exist. The reader needs the ``read`` scope.

    200/206  the bytes (``Range: bytes=a-b`` honoured, one range; Accept-Ranges, ETag, Last-Modified)
    304      If-None-Match matched the ETag
    401 UNAUTHENTICATED      no token and no signature
    403 FORBIDDEN            the token lacks ``read``
    403 SIGNATURE_INVALID / SIGNATURE_EXPIRED    a tampered, malformed or expired signed URL, or one whose
                             token has been revoked
    403 MEDIA_OUTSIDE_ROOT   the asset's uri is outside the media directories this server serves
    404 NOT_FOUND            no such asset (for this caller), or its file is gone
    416 RANGE_NOT_SATISFIABLE

Local files (a path or ``file://``) are served from under the media directories only (``media_roots``):
a writer who registers ``/etc/passwd`` as an asset's uri cannot read it back here. ``s3://`` objects are
read through the lake's storage options (``open_file``), under the lake's own bucket or an s3 media dir.
"""
from __future__ import annotations

import json
import posixpath
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from graph_api.http.auth import forbidden, request_principal, unauthenticated
from graph_api.http.errors import HTTPError
from graph_api.lake.access import access_for
from graph_api.lake.signing import SignatureError, signer_for
from graph_api.lake.tokens import LOCAL, Principal
from graph_api.media import store
from graph_api.media.kinds import media_type_for
from graph_api.media.store import demo_media_dir
from graph_api.settings import Settings
from graph_api.threads import run_sync

CHUNK = 256 * 1024
# content types by extension; anything else is application/octet-stream
CONTENT_TYPES = {
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm",
    ".mkv": "video/x-matroska", ".ts": "video/mp2t", ".avi": "video/x-msvideo", ".mxf": "application/mxf",
    ".wav": "audio/wav", ".aac": "audio/aac", ".m4a": "audio/mp4", ".mp3": "audio/mpeg", ".flac": "audio/flac",
    ".opus": "audio/opus", ".ogg": "audio/ogg",
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp", ".tif": "image/tiff",
    ".tiff": "image/tiff", ".bmp": "image/bmp", ".exr": "image/x-exr",
    ".srt": "application/x-subrip", ".vtt": "text/vtt", ".ttml": "application/ttml+xml", ".txt": "text/plain",
    ".json": "application/json",
}
GENERIC = {"VIDEO": "video/octet-stream", "AUDIO": "audio/octet-stream", "IMAGE": "image/octet-stream"}


def content_type(uri: str) -> str:
    """The Content-Type of an asset's bytes, from its uri's extension (``graph_api.media.kinds`` names the kinds)."""
    suffix = posixpath.splitext(uri.split("?")[0])[1].lower()
    return CONTENT_TYPES.get(suffix) or GENERIC.get(media_type_for(uri) or "", "application/octet-stream")


# --- where bytes come from ---------------------------------------------------------------------
@dataclass
class MediaFile:
    """An open object: its size, modification time, and positioned reads."""

    size: int
    mtime: float | None
    handle: Any  # a pyarrow RandomAccessFile

    def read(self, offset: int, length: int) -> bytes:
        self.handle.seek(offset)
        return bytes(self.handle.read(length))

    def close(self) -> None:
        self.handle.close()


def open_file(uri: str, storage_options: dict[str, str]) -> MediaFile | None:
    """Open an asset's uri (a local path, ``file://`` or ``s3://``, through ``graph_api.media.store``, the one
    way to reach media); None when there is nothing there or the scheme is not one media can live on."""
    try:
        fs, path = store.filesystem(uri, storage_options)
    except ValueError:
        return None
    info = fs.get_file_info(path)
    if info.type != pafs.FileType.File:
        return None
    mtime = info.mtime.timestamp() if info.mtime is not None else None
    return MediaFile(int(info.size or 0), mtime, fs.open_input_file(path))


def media_roots(settings: Settings) -> list[str]:
    """The directories (or s3 prefixes) ``/media`` serves from: the configured media dir, else the
    default ``<lake>-media`` and the demo's media directory; plus an s3 lake's own bucket."""
    roots: list[str] = []
    lake = settings.lake
    if settings.media_dir:
        roots.append(settings.media_dir)
    if "://" not in lake or lake.startswith("file://"):
        path = Path(lake.removeprefix("file://")).expanduser().resolve()
        if not settings.media_dir:
            roots.append(str(path.with_name(path.name + "-media")))
    elif lake.startswith("s3://"):
        roots.append("s3://" + lake.removeprefix("s3://").split("/", 1)[0])
    roots.append(str(demo_media_dir(lake)))
    return [r if r.startswith("s3://") else str(Path(r).expanduser().resolve()) for r in roots]


def under_roots(uri: str, roots: list[str]) -> bool:
    """True when ``uri`` names something inside one of ``roots`` (after resolving ``..`` and symlinks)."""
    if uri.startswith("s3://"):
        key = uri.removeprefix("s3://")
        if any(part in ("..", ".") for part in key.split("/")):
            return False
        return any(uri == r or uri.startswith(r.rstrip("/") + "/") for r in roots if r.startswith("s3://"))
    if "://" in uri and not uri.startswith("file://"):
        return False
    path = Path(uri.removeprefix("file://")).expanduser().resolve()
    return any(path.is_relative_to(r) for r in roots if not r.startswith("s3://"))


# --- ranges ------------------------------------------------------------------------------------
def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range ``header`` asks for, as (start, end inclusive); None for the whole file.
    Raises HTTPError 416 for a range outside the file or one that does not parse."""
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        # another unit, or several ranges: answered with the whole file (RFC 9110 lets a server ignore Range)
        return None
    first, dash, last = spec.strip().partition("-")
    try:
        if not dash:
            raise ValueError(spec)
        if first == "":
            length = int(last)
            if length <= 0:
                raise ValueError(spec)
            start, end = max(size - length, 0), size - 1
        else:
            start = int(first)
            end = int(last) if last else size - 1
            if start < 0 or end < start:
                raise ValueError(spec)
    except ValueError:
        raise not_satisfiable(size, f"the Range {header!r} does not parse") from None
    if start >= size:
        raise not_satisfiable(size, f"the Range {header!r} starts past the end ({size} bytes)")
    return start, min(end, size - 1)


def not_satisfiable(size: int, why: str) -> HTTPError:
    return HTTPError(why, 416, "RANGE_NOT_SATISFIABLE", {"Content-Range": f"bytes */{size}"})


# --- the route ---------------------------------------------------------------------------------
class MediaRoute:
    def __init__(self, services: Any) -> None:
        self.services = services
        self.roots = media_roots(services.settings)
        self._tokens: tuple[float, dict[str, Principal]] = (float("-inf"), {})

    def signer(self) -> Any:
        s = self.services.settings
        return signer_for(self.services.lake.connection, s.media_signing_secret, s.media_url_ttl_seconds)

    def live_principal(self, token_id: str) -> Principal | None:
        """The principal of a live token (revoked ones are not), from the tokens re-read at most once per
        token refresh interval, or at once for an id not seen yet: only URLs this server signed get here,
        so a miss is a token created since the last read, not a probe."""
        checked, principals = self._tokens
        tokens = self.services.auth.tokens
        if tokens is None:
            return None
        stale = time.monotonic() - checked >= self.services.settings.token_refresh_seconds
        if stale or token_id not in principals:
            principals = {r.id: r.principal for r in tokens.list() if r.revoked_at is None}
            self._tokens = (time.monotonic(), principals)
        return principals.get(token_id)

    def principal_of(self, request: Request, asset_id: str) -> tuple[Principal, int | None]:
        """Who asks (from a signed URL or the bearer token) and which version; raises HTTPError."""
        q = request.query_params
        if "sig" in q:
            try:
                signed = self.signer().verify(asset_id, q.get("v", ""), q.get("exp", ""), q.get("tok", ""),
                                              q["sig"])
            except SignatureError as exc:
                raise HTTPError(str(exc), 403, exc.code) from None
            if not self.services.auth.enabled:
                return LOCAL, signed.version
            principal = self.live_principal(signed.token_id) if signed.token_id else None
            if principal is None:
                raise HTTPError("This media URL was signed for a token that is no longer valid", 403,
                                "SIGNATURE_INVALID")
            return principal, signed.version
        principal = request_principal(request.scope)
        if principal is None:
            raise unauthenticated("This request needs a bearer token or a signed URL (Asset.mediaUrl)")
        version = q.get("v")
        return principal, int(version) if version and version.isdigit() else None

    def asset(self, principal: Principal, asset_id: str, version: int | None) -> dict[str, Any] | None:
        access = access_for(principal)
        lake = self.services.lake
        view = lake if access.unlimited else lake.with_access(access)
        if version is not None:
            row: dict[str, Any] | None = view.assets.get_version(asset_id, version)
            return row
        return view.assets.get_many([asset_id]).get(asset_id)

    async def handle(self, request: Request) -> Response:
        try:
            return await self.serve(request)
        except HTTPError as exc:
            body = json.dumps({"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]})
            return Response(b"" if request.method == "HEAD" else body.encode(), exc.status,
                            headers=exc.headers, media_type="application/json; charset=utf-8")

    async def serve(self, request: Request) -> Response:
        asset_id = request.path_params["asset_id"]
        principal, version = await run_sync(self.principal_of, request, asset_id)
        if not principal.can("read"):
            raise forbidden("read")
        row = await run_sync(self.asset, principal, asset_id, version)
        if row is None:
            raise HTTPError(f"No asset {asset_id!r}" + (f" version {version}" if version else ""), 404, "NOT_FOUND")
        uri = row["uri"]
        if not under_roots(uri, self.roots):
            raise HTTPError("This asset's file is outside the media directories this server serves", 403,
                            "MEDIA_OUTSIDE_ROOT")
        media = await run_sync(open_file, uri, dict(self.services.settings.storage_options))
        if media is None:
            raise HTTPError(f"The file of asset {asset_id!r} is missing", 404, "NOT_FOUND")
        try:
            return self.respond(request, row, media)
        except BaseException:
            media.close()
            raise

    def respond(self, request: Request, row: dict[str, Any], media: MediaFile) -> Response:
        checksum = (row.get("checksum") or "").removeprefix("sha256:")
        etag = f'"{checksum[:32]}"' if checksum else f'"{media.size:x}-{int(media.mtime or 0):x}"'
        headers = {"Accept-Ranges": "bytes", "ETag": etag, "Cache-Control": "private, max-age=300"}
        if media.mtime is not None:
            headers["Last-Modified"] = formatdate(media.mtime, usegmt=True)
        kind = content_type(row["uri"])
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            media.close()
            return Response(status_code=304, headers=headers)
        byte_range = parse_range(request.headers.get("range"), media.size)
        if byte_range is None:
            start, end, status = 0, media.size - 1, 200
        else:
            (start, end), status = byte_range, 206
            headers["Content-Range"] = f"bytes {start}-{end}/{media.size}"
        headers["Content-Length"] = str(end - start + 1)
        if request.method == "HEAD":
            media.close()
            return Response(status_code=status, headers=headers, media_type=kind)
        return StreamingResponse(_chunks(media, start, end), status_code=status, headers=headers, media_type=kind)


async def _chunks(media: MediaFile, start: int, end: int) -> AsyncIterator[bytes]:
    try:
        offset = start
        while offset <= end:
            data = await run_sync(media.read, offset, min(CHUNK, end - offset + 1))
            if not data:
                break
            offset += len(data)
            yield data
    finally:
        media.close()


def routes(services: Any) -> list[Route]:
    return [Route("/media/{asset_id}", MediaRoute(services).handle, methods=["GET", "HEAD"])]


__all__ = ["MediaFile", "content_type", "media_roots", "open_file", "parse_range", "routes",
           "under_roots"]

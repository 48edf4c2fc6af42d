"""Signed media URLs: a short-lived HMAC that lets a browser's ``<video src>`` or ``<img src>`` (which
cannot send a bearer header) fetch ``/media/{assetId}`` as the principal GraphQL handed it to.

    /media/<asset id>?v=<version>&exp=<expiry, unix seconds>&tok=<token id or 'local'>&sig=<hex>
    sig = HMAC-SHA256(secret, "<asset id>\\n<version>\\n<expiry>\\n<token id or 'local'>")

The secret comes from settings (``MEDIAGRAPH_MEDIA_SIGNING_SECRET``) or, when none is configured, from
the lake's ``media_secrets`` table, generated on first use: every worker and replica of one lake signs
with the same key. Two processes generating at once both write a row; everyone then uses the oldest
row (by creation time, then id), so they agree after reading the table back.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import pyarrow as pa

from graph_api.lake.connection import Connection

TABLE = "media_secrets"
SECRETS = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("secret", pa.string(), nullable=False),
    pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
])
# the token id a signature carries when auth is off (every caller is LOCAL, which has no token)
LOCAL_TOKEN = "local"


class SignatureError(Exception):
    """A signed URL that does not verify; ``code`` says why."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Signed:
    """What a valid signature vouches for."""

    asset_id: str
    version: int
    token_id: str | None  # None: signed for LOCAL (auth off)
    expires: int


class MediaSigner:
    def __init__(self, secret: bytes, ttl_seconds: float) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def _mac(self, asset_id: str, version: int, expires: int, token: str) -> str:
        message = f"{asset_id}\n{version}\n{expires}\n{token}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def url(self, asset_id: str, version: int, token_id: str | None, now: float | None = None) -> str:
        """The path and query of a signed ``/media`` URL of one asset version, valid for ``ttl_seconds``."""
        expires = int((time.time() if now is None else now) + self.ttl_seconds)
        token = token_id or LOCAL_TOKEN
        query = urlencode({"v": version, "exp": expires, "tok": token,
                           "sig": self._mac(asset_id, version, expires, token)})
        return f"/media/{asset_id}?{query}"

    def verify(self, asset_id: str, version: str, expires: str, token: str, signature: str,
               now: float | None = None) -> Signed:
        if not expires.isdigit() or not version.isdigit() or not token or not signature:
            raise SignatureError("This media URL's signature is malformed: ask GraphQL for Asset.mediaUrl again",
                                 "SIGNATURE_INVALID")
        if not hmac.compare_digest(self._mac(asset_id, int(version), int(expires), token), signature):
            raise SignatureError("This media URL's signature does not match: ask GraphQL for Asset.mediaUrl again",
                                 "SIGNATURE_INVALID")
        if int(expires) < (time.time() if now is None else now):
            raise SignatureError("This media URL has expired: ask GraphQL for Asset.mediaUrl again",
                                 "SIGNATURE_EXPIRED")
        return Signed(asset_id, int(version), None if token == LOCAL_TOKEN else token, int(expires))


_signers: weakref.WeakKeyDictionary[Connection, MediaSigner] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def signer_for(connection: Connection, configured: str = "", ttl_seconds: float = 600.0) -> MediaSigner:
    """The signer of the lake behind ``connection``: one per connection, its secret read once."""
    with _lock:
        signer = _signers.get(connection)
        if signer is None or signer.ttl_seconds != ttl_seconds:
            secret = configured.encode() if configured else lake_secret(connection)
            signer = _signers[connection] = MediaSigner(secret, ttl_seconds)
        return signer


def lake_secret(connection: Connection) -> bytes:
    """The lake's media-signing secret, generated and stored on first use."""
    table = connection.open_or_create(TABLE, SECRETS)
    rows = table.to_arrow().to_pylist()
    if not rows:
        connection.add(TABLE, pa.Table.from_pylist([{
            "id": secrets.token_hex(8), "secret": secrets.token_urlsafe(32), "created_at": datetime.now(UTC)}],
            schema=SECRETS))
        rows = table.to_arrow().to_pylist()
    oldest = min(rows, key=lambda r: (r["created_at"], r["id"]))
    return str(oldest["secret"]).encode()


__all__ = ["LOCAL_TOKEN", "MediaSigner", "SignatureError", "Signed", "lake_secret", "signer_for"]

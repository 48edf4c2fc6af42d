"""API tokens: who a request is, what it may do, and which restricted titles it may see.

A token reads ``mgt_<id>_<secret>``. The lake keeps its id, name, scopes, titles, a random salt
and sha256(salt + secret), never the secret itself: the secret is shown once, when it is made.
The secret is 256 random bits, so one salted hash is as strong as a slow KDF would be (GitHub
and PyPI store their tokens the same way) and costs microseconds a request. Secrets are compared
in constant time.

The ``tokens`` table lives in the lake and is opened through ``Connection.open_or_create``
(``open_tokens``): a lake gets it when its first token is made or its first server starts with
auth on, and lakes that never use tokens carry no empty table.

Tokens are read per request from a small in-process cache that is refreshed when the ``tokens``
table's version moves, checked at most every ``refresh_seconds``: a token created or revoked by
``mediagraph token`` while servers run takes effect within that interval on every worker.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import pyarrow as pa

from graph_api.errors import InvalidArgument, NotFound
from graph_api.lake import sql
from graph_api.lake.connection import Connection

TABLE = "tokens"
SCOPES: tuple[str, ...] = ("read", "write", "admin")
TOKEN_PREFIX = "mgt_"
# how often a server looks at the tokens table's version; the bound on how late a revocation bites
REFRESH_SECONDS = 1.0
# last use is written at most this often per token: a write per request would cost more than the request
LAST_USED_EVERY_SECONDS = 60.0

TOKENS = pa.schema([
    pa.field("id", pa.string(), nullable=False),
    pa.field("name", pa.string(), nullable=False),
    pa.field("scopes", pa.list_(pa.string()), nullable=False),
    pa.field("title_ids", pa.list_(pa.string()), nullable=False),
    pa.field("all_titles", pa.bool_(), nullable=False),
    pa.field("salt", pa.string(), nullable=False),
    pa.field("secret_hash", pa.string(), nullable=False),
    pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
    pa.field("last_used_at", pa.timestamp("us", tz="UTC")),
    pa.field("revoked_at", pa.timestamp("us", tz="UTC")),
])


@dataclass(frozen=True)
class Principal:
    """Who is asking: a token's name, scopes and the restricted titles it was granted."""

    name: str
    scopes: frozenset[str]
    title_ids: frozenset[str] = frozenset()
    all_titles: bool = False
    token_id: str | None = None

    def can(self, scope: str) -> bool:
        return scope in self.scopes


# with auth off, on loopback: the one user is the machine's
LOCAL = Principal(name="local", scopes=frozenset(SCOPES), all_titles=True)
# what a request with no principal is treated as wherever one is needed: no scope, no grant
NOBODY = Principal(name="nobody", scopes=frozenset())


@dataclass(frozen=True)
class TokenRecord:
    id: str
    name: str
    scopes: tuple[str, ...]
    title_ids: tuple[str, ...]
    all_titles: bool
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def principal(self) -> Principal:
        return Principal(name=self.name, scopes=frozenset(self.scopes), title_ids=frozenset(self.title_ids),
                         all_titles=self.all_titles, token_id=self.id)


class TokenTable(Protocol):
    """What the store needs of the lake: its ``tokens`` table."""

    def version(self) -> int: ...
    def rows(self) -> list[dict[str, Any]]: ...
    def add(self, rows: pa.Table) -> None: ...
    def update(self, token_id: str, values: dict[str, Any]) -> None: ...


@dataclass
class _Cache:
    version: int = -1
    checked: float = float("-inf")
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)


class Tokens:
    def __init__(self, table: TokenTable, *, refresh_seconds: float = REFRESH_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._table = table
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._cache = _Cache()
        self._lock = threading.Lock()
        self._last_used_written: dict[str, float] = {}

    # --- management (mediagraph token ...) ----------------------------------------------
    def create(self, name: str, scopes: Sequence[str], *, title_ids: Iterable[str] = (),
               all_titles: bool = False) -> tuple[TokenRecord, str]:
        """A new token and its secret, which is shown once and never stored."""
        scopes = tuple(dict.fromkeys(s.strip() for s in scopes if s.strip()))
        unknown = [s for s in scopes if s not in SCOPES]
        if not scopes or unknown:
            raise InvalidArgument(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}",
                                  field="scopes")
        titles = tuple(dict.fromkeys(t for t in title_ids if t))
        if all_titles and titles:
            raise InvalidArgument("give either --titles or --all-titles, not both", field="titles")
        name = name.strip()
        if not name or len(name) > 200 or any(ord(c) < 32 for c in name):
            raise InvalidArgument("a token name is 1 to 200 printable characters", field="name")
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        salt = secrets.token_hex(16)
        now = datetime.now(UTC)
        self._table.add(pa.Table.from_pylist([{
            "id": token_id, "name": name, "scopes": list(scopes), "title_ids": list(titles), "all_titles": all_titles,
            "salt": salt, "secret_hash": _hash(salt, secret), "created_at": now, "last_used_at": None,
            "revoked_at": None,
        }], schema=TOKENS))
        record = TokenRecord(token_id, name, scopes, titles, all_titles, now, None, None)
        return record, f"{TOKEN_PREFIX}{token_id}_{secret}"

    def list(self) -> list[TokenRecord]:
        return sorted((_record(r) for r in self._table.rows()), key=lambda r: (r.created_at, r.id))

    def revoke(self, token_id: str) -> TokenRecord:
        row = next((r for r in self._table.rows() if r["id"] == token_id), None)
        if row is None:
            raise NotFound(f"no token with id {token_id!r}", id=token_id)
        if row["revoked_at"] is None:
            row["revoked_at"] = datetime.now(UTC)
            self._table.update(token_id, {"revoked_at": row["revoked_at"]})
        return _record(row)

    # --- per request ---------------------------------------------------------------------
    def authenticate(self, token: str) -> Principal | None:
        """The principal a bearer token stands for; None for anything that is not a live token."""
        parsed = _parse(token)
        if parsed is None:
            return None
        token_id, secret = parsed
        row = self._rows().get(token_id)
        if row is None:
            # constant work either way: do not tell a missing id from a wrong secret by timing
            hmac.compare_digest(_hash("0" * 32, secret), "0" * 64)
            return None
        if not hmac.compare_digest(_hash(row["salt"], secret), row["secret_hash"]) or row["revoked_at"] is not None:
            return None
        self._note_use(token_id)
        return _record(row).principal

    def _rows(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            now = self._clock()
            if now - self._cache.checked >= self._refresh_seconds:
                version = self._table.version()
                if version != self._cache.version:
                    self._cache.rows = {r["id"]: r for r in self._table.rows()}
                    self._cache.version = version
                self._cache.checked = now
            return self._cache.rows

    def _note_use(self, token_id: str) -> None:
        now = self._clock()
        if now - self._last_used_written.get(token_id, -LAST_USED_EVERY_SECONDS) < LAST_USED_EVERY_SECONDS:
            return
        self._last_used_written[token_id] = now
        try:
            self._table.update(token_id, {"last_used_at": datetime.now(UTC)})
        except Exception:  # noqa: BLE001 - bookkeeping must never fail a request
            self._last_used_written.pop(token_id, None)


class LanceTokenTable:
    """The ``tokens`` table of a lake, as the store needs it."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def version(self) -> int:
        return int(self._table.version)

    def rows(self) -> list[dict[str, Any]]:
        return self._table.to_arrow().to_pylist()

    def add(self, rows: pa.Table) -> None:
        self._table.add(rows)

    def update(self, token_id: str, values: dict[str, Any]) -> None:
        self._table.update(where=sql.eq("id", token_id), values=values)


def open_tokens(connection: Connection, *, refresh_seconds: float = REFRESH_SECONDS) -> Tokens:
    """The tokens of the lake behind ``connection`` (its ``tokens`` table, created on first use)."""
    return Tokens(LanceTokenTable(connection.open_or_create(TABLE, TOKENS, ("id",))), refresh_seconds=refresh_seconds)


def _hash(salt: str, secret: str) -> str:
    return hashlib.sha256((salt + secret).encode()).hexdigest()


def _parse(token: str) -> tuple[str, str] | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, secret = token[len(TOKEN_PREFIX):].partition("_")
    if not sep or len(token_id) != 16 or not secret or len(secret) > 100:
        return None
    return token_id, secret


def _record(row: dict[str, Any]) -> TokenRecord:
    return TokenRecord(id=row["id"], name=row["name"], scopes=tuple(row["scopes"]), title_ids=tuple(row["title_ids"]),
                       all_titles=row["all_titles"], created_at=row["created_at"], last_used_at=row["last_used_at"],
                       revoked_at=row["revoked_at"])


__all__ = ["LOCAL", "SCOPES", "TABLE", "TOKENS", "LanceTokenTable", "Principal", "TokenRecord", "TokenTable", "Tokens", "open_tokens"]

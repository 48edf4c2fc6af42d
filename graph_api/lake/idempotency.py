"""Idempotency keys: what the first request with a key answered, per principal, in the lake.

A key is claimed *before* the mutation runs (a ``pending`` row) and completed after it (a ``done`` row of the
same claim, with the response): the pending row is written first and the response last, as the lake's commit
order rule asks. Both are appends, so concurrent requests' claims and completions share commits.
So a server killed between the mutation's write and the response's never makes a retry write twice: the
retry finds the claim still pending and is told the outcome is in doubt (``IDEMPOTENCY_KEY_IN_DOUBT``)
instead of running again. A mutation refused without writing (errors and no data) releases its claim.

Two requests with one key at once, in two worker processes: each claims, then reads the claims back; a
claimant that sees another's claim withdraws its own and is told the key is in use. At most one of them
runs (both may withdraw: the client retries), as long as reads see the newest commit
(``read_consistency_seconds`` 0, the default).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from graph_api.errors import Conflict
from graph_api.lake import sql
from graph_api.lake.connection import Connection

TABLE = "idempotency_keys"
MAX_KEY_LENGTH = 255
PENDING, DONE = "pending", "done"

KEYS = pa.schema([
    pa.field("id", pa.string(), nullable=False),  # one claim (a nonce): what a withdrawal deletes
    pa.field("principal", pa.string(), nullable=False),
    pa.field("key", pa.string(), nullable=False),
    pa.field("request_hash", pa.string(), nullable=False),
    pa.field("state", pa.string(), nullable=False),
    pa.field("response", pa.string()),  # the first response's JSON, once done
    pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
])


class IdempotencyError(Conflict):
    """A key that cannot be used for this request; ``code`` (more precise than CONFLICT) says why."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def reused() -> IdempotencyError:
    return IdempotencyError("this idempotency key was used for a different request: use a new key for a new "
                            "request", "IDEMPOTENCY_KEY_REUSED")


def in_progress() -> IdempotencyError:
    return IdempotencyError("a request with this idempotency key is running: retry once it has answered",
                            "IDEMPOTENCY_KEY_IN_USE")


def in_doubt() -> IdempotencyError:
    return IdempotencyError("the first request with this idempotency key was interrupted before it answered; "
                            "whether it wrote is unknown: check, then send a new key", "IDEMPOTENCY_KEY_IN_DOUBT")


@dataclass(frozen=True)
class Claim:
    id: str
    principal: str
    key: str
    request_hash: str


class IdempotencyKeys:
    def __init__(self, connection: Connection, *, stale_after_seconds: float = 120.0) -> None:
        self._connection = connection
        # a pending claim older than this belongs to a request that is not coming back: longer than any may run
        self._stale_after = stale_after_seconds
        connection.open_or_create(TABLE, KEYS, ("key",))

    def _rows(self, principal: str, key: str) -> list[dict[str, Any]]:
        where = sql.all_of(sql.eq("principal", principal), sql.eq("key", key))
        rows: list[dict[str, Any]] = self._connection.table(TABLE).search().where(where).limit(100).to_list()
        return sorted(rows, key=lambda r: (r["created_at"], r["id"]))

    def begin(self, principal: str, key: str, request_hash: str) -> Claim | str:
        """The first response (JSON) when this request ran before; else a claim to run it under.

        Raises ``IdempotencyError`` for a key used for another request, in use, or in doubt."""
        found = self._answer(self._rows(principal, key), request_hash)
        if found is not None:
            return found
        claim = Claim(secrets.token_hex(12), principal, key, request_hash)
        self._connection.add(TABLE, pa.Table.from_pylist([{
            "id": claim.id, "principal": principal, "key": key, "request_hash": request_hash, "state": PENDING,
            "response": None, "created_at": datetime.now(UTC)}], schema=KEYS))
        others = [r for r in self._rows(principal, key) if r["id"] != claim.id]
        if others:
            # someone claimed it meanwhile (another worker): withdraw, whoever it was
            self.release(claim)
            found = self._answer(others, request_hash, racing=True)
            if found is not None:
                return found
            raise in_progress()
        return claim

    def _answer(self, rows: list[dict[str, Any]], request_hash: str, racing: bool = False) -> str | None:
        if not rows:
            return None
        done = [r for r in rows if r["state"] == DONE]
        first = done[0] if done else rows[0]
        if first["request_hash"] != request_hash:
            raise reused()
        if done:
            return str(first["response"])
        # pending: running now in another request, or interrupted for good (a crash, a timeout)
        age = (datetime.now(UTC) - first["created_at"]).total_seconds()
        raise in_doubt() if not racing and age > self._stale_after else in_progress()

    def complete(self, claim: Claim, response: str) -> None:
        # a second row of the claim, appended: the answer prefers a done row, and an append (grouped with
        # other requests' claims and completions) costs far less than rewriting the pending row in place
        self._connection.add(TABLE, pa.Table.from_pylist([{
            "id": claim.id, "principal": claim.principal, "key": claim.key, "request_hash": claim.request_hash,
            "state": DONE, "response": response, "created_at": datetime.now(UTC)}], schema=KEYS))

    def release(self, claim: Claim) -> None:
        self._connection.delete(TABLE, sql.eq("id", claim.id))


__all__ = ["Claim", "IdempotencyError", "IdempotencyKeys", "MAX_KEY_LENGTH", "TABLE"]

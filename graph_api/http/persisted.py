"""Persisted queries: Apollo's Automatic Persisted Queries protocol, and an allow-list mode.

APQ: a client sends ``extensions.persistedQuery = {"version": 1, "sha256Hash": h}`` without
the document. A known hash runs the stored document; an unknown one answers
PERSISTED_QUERY_NOT_FOUND (HTTP 200, as Apollo Server does), and the client retries with
document and hash, which registers it. The store is an in-process LRU, per worker: with
several workers a miss costs one retry, never a wrong answer.

Allow-list: only the operations of a manifest run, sent by hash or in full. The manifest is
Apollo's persisted query manifest (``{"format": "apollo-persisted-query-manifest",
"operations": [{"id", "body", ...}]}``) or a plain ``{"<sha256>": "<document>"}`` object.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from graph_api.errors import InvalidArgument
from graph_api.http.errors import HTTPError


def _refused(message: str, code: str, status: int) -> HTTPError:
    # a client must not cache a refusal: the next attempt (with the document) may succeed
    return HTTPError(message, status, code, {"Cache-Control": "private, no-cache, must-revalidate"})


def sha256_hex(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


class PersistedQueries:
    def __init__(self, mode: str = "apq", manifest: str = "", capacity: int = 10_000) -> None:
        self.mode = mode
        self.capacity = capacity
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.allowed: dict[str, str] = load_manifest(manifest) if manifest else {}
        self.allowed_hashes = {sha256_hex(body) for body in self.allowed.values()}
        self.counts = {"hit": 0, "miss": 0, "registered": 0, "rejected": 0}

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> tuple[str | None, str]:
        """The document to run, and what happened ("hit", "registered", "" when APQ was not used).

        Raises HTTPError for the protocol's error answers (whatever the accepted media type, with
        the status the protocol gives them)."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None or self.mode == "off":
            if self.mode == "allowlist" and query is not None and sha256_hex(query) not in self.allowed_hashes:
                self._count("rejected")
                raise _refused("This operation is not in the allow-list", "QUERY_NOT_IN_ALLOWLIST", 400)
            if persisted is not None and query is None:
                raise _refused("PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED", 200)
            return query, ""
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise _refused("Unsupported persisted query version", "BAD_REQUEST", 400)
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not digest:
            raise _refused("persistedQuery.sha256Hash must be a string", "BAD_REQUEST", 400)
        if self.mode == "allowlist":
            return self._allowed(query, digest), "hit"
        if query is None:
            found = self._get(digest)
            if found is None:
                self._count("miss")
                raise _refused("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", 200)
            self._count("hit")
            return found, "hit"
        if sha256_hex(query) != digest.lower():
            raise _refused("provided sha does not match query", "BAD_REQUEST", 400)
        self._put(digest.lower(), query)
        self._count("registered")
        return query, "registered"

    def _allowed(self, query: str | None, digest: str) -> str:
        body = self.allowed.get(digest) or self.allowed.get(digest.lower())
        if body is None:
            self._count("rejected")
            raise _refused("This persisted query is not in the allow-list",
                                      "PERSISTED_QUERY_NOT_IN_LIST", 400)
        if query is not None and query != body:
            raise _refused("provided sha does not match query", "BAD_REQUEST", 400)
        self._count("hit")
        return body

    def _get(self, digest: str) -> str | None:
        with self._lock:
            found = self._cache.get(digest.lower())
            if found is not None:
                self._cache.move_to_end(digest.lower())
            return found

    def _put(self, digest: str, query: str) -> None:
        with self._lock:
            self._cache[digest] = query
            self._cache.move_to_end(digest)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1


def load_manifest(path: str) -> dict[str, str]:
    """Operation id -> document, from an Apollo manifest or a plain JSON object."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InvalidArgument(f"cannot read the persisted query manifest {path}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("operations"), list):
        return {str(op["id"]): str(op["body"]) for op in data["operations"]}
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        return dict(data)
    raise InvalidArgument(f"{path} is not a persisted query manifest")

"""Replicas of the media graph on one S3 lake, and concurrent writers through them over HTTP.

Shared by the replica tests (few mutations) and ``bench/replicas_bench.py`` (500 per thread).
Every mutation is idempotent (an ``externalId`` or an ``idempotencyKey``), so a client may retry one
whose answer it did not get; afterwards the lake is read directly to count what was lost or duplicated.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from graph_api.lake import Lake
from tests.conftest import LiveServer
from tests.s3 import SeaweedS3

RETRIES = 6
# errors worth a second try: the request may not have reached the lake, or lost a commit race
RETRYABLE = {"UNAVAILABLE", "TIMEOUT", "INTERNAL_SERVER_ERROR", "INTERNAL", "RATE_LIMITED", "TOO_MANY_REQUESTS"}


def mediagraph(s3: SeaweedS3, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graph_api.cli", *args], capture_output=True, text=True,
                          timeout=300, check=False, env={**os.environ, **s3.env})


def create_token(s3: SeaweedS3, lake: str, scopes: str = "read,write,admin") -> tuple[str, str]:
    """(id, secret) of a new token with every title; the first one also creates the lake."""
    done = mediagraph(s3, "token", "create", "--scopes", scopes, "--all-titles", "--lake", lake)
    assert done.returncode == 0, done.stderr
    token_id = done.stderr.split("created token ", 1)[1].split()[0]
    return token_id, done.stdout.strip().splitlines()[-1]


def start_replicas(s3: SeaweedS3, lake: str, count: int, log_dir: Path, *,
                   read_consistency_seconds: float) -> list[LiveServer]:
    env = {**s3.env, "MEDIAGRAPH_READ_CONSISTENCY_SECONDS": str(read_consistency_seconds),
           "MEDIAGRAPH_MAX_CONCURRENT_REQUESTS": "64"}
    servers: list[LiveServer] = []
    try:
        for _ in range(count):
            servers.append(LiveServer(lake, extra_args=["--auth", "on"], env=env, log_dir=log_dir))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


class Client:
    """GraphQL over HTTP with a bearer token, retrying what may safely be retried and counting it."""

    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
        self.retried = 0

    def call(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(RETRIES):
            try:
                response = self.http.post("/graphql", json={"query": query, "variables": variables})
                body = response.json()
            except (httpx.HTTPError, ValueError):
                body = {"errors": [{"extensions": {"code": "UNAVAILABLE"}}]}
            errors = body.get("errors") or []
            if not errors:
                return body["data"]
            code = (errors[0].get("extensions") or {}).get("code", "")
            if code not in RETRYABLE or attempt + 1 == RETRIES:
                raise AssertionError(f"{query.split('(')[0]} failed: {errors}")
            self.retried += 1
            time.sleep(0.1 * 2 ** attempt)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.http.close()


CREATE_TITLE = "mutation($i: TitleInput!) { createTitle(input: $i) { id } }"
REGISTER = "mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id } }"
RECORD_RUN = "mutation($i: RunInput!) { recordRun(input: $i) { id } }"


@dataclass
class Report:
    mutations: int = 0
    retried: int = 0
    seconds: float = 0.0
    expected: dict[str, set[str]] = field(default_factory=lambda: {"titles": set(), "assets": set(), "runs": set()})
    failures: list[str] = field(default_factory=list)


def _asset(title_id: str, key: str, role: str = "source") -> dict[str, Any]:
    return {"titleId": title_id, "mediaType": "VIDEO", "role": role, "uri": f"s3://studio/{key}.mov",
            "externalId": key, "durationSeconds": 10.0}


def _writer(client: Client, name: str, count: int, report: Report, lock: threading.Lock) -> None:
    """``count`` mutations, cycling: a title, two assets in it, a run from one of them to a proxy."""
    title_id = asset_id = None
    titles, assets, runs = set(), set(), set()
    try:
        for i in range(count):
            key = f"{name}-{i}"
            if title_id is None or i % 3 == 0:
                title_id = client.call(CREATE_TITLE, {"i": {"name": f"Replica {key}", "kind": "MOVIE",
                                                            "externalId": key}})["createTitle"]["id"]
                titles.add(key)
            elif i % 3 == 1:
                rows = client.call(REGISTER, {"i": [_asset(title_id, f"{key}-a"), _asset(title_id, f"{key}-b")]})
                asset_id = rows["registerAssets"][0]["id"]
                assets.update({f"{key}-a", f"{key}-b"})
            else:
                client.call(RECORD_RUN, {"i": {
                    "job": {"namespace": "replicas", "name": "proxy", "version": "1"},
                    "inputs": [asset_id] if asset_id else [], "idempotencyKey": key,
                    "outputs": [_asset(title_id, f"{key}-proxy", role="proxy")]}})
                runs.add(key)
                assets.add(f"{key}-proxy")
            with lock:
                report.mutations += 1
    except AssertionError as exc:
        with lock:
            report.failures.append(f"{name}: {exc}")
    finally:
        with lock:
            report.expected["titles"] |= titles
            report.expected["assets"] |= assets
            report.expected["runs"] |= runs


def concurrent_writes(urls: list[str], token: str, threads_per_replica: int, mutations: int, *,
                      progress: Callable[[Report, float], None] | None = None, every: float = 30.0) -> Report:
    """``threads_per_replica`` client threads per replica, each making ``mutations`` mutations;
    ``progress(report, elapsed)`` is called every ``every`` seconds while they run."""
    report, lock = Report(), threading.Lock()
    clients = [Client(url, token) for url in urls for _ in range(threads_per_replica)]
    threads = [threading.Thread(target=_writer, args=(c, f"r{n // threads_per_replica}t{n % threads_per_replica}",
                                                      mutations, report, lock)) for n, c in enumerate(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=every)
            if progress is not None and thread.is_alive():
                progress(report, time.perf_counter() - started)
    report.seconds = time.perf_counter() - started
    report.retried = sum(c.retried for c in clients)
    for client in clients:
        client.close()
    return report


def lost_and_duplicated(s3: SeaweedS3, lake_uri: str, report: Report) -> dict[str, tuple[list[str], list[str]]]:
    """Per table, the keys written but missing, and the keys present more than once (read from the lake)."""
    lake = Lake(lake_uri, storage_options=s3.storage_options, create=False, background_compaction=False)
    assets = lake.table("assets").to_arrow().select(["id", "external_id"]).to_pylist()
    found = {
        "titles": lake.table("titles").to_arrow()["external_id"].to_pylist(),
        # one row per (id, version): an asset is duplicated when one external id names two ids
        "assets": [key for key, _ in {(a["external_id"], a["id"]) for a in assets}],
        "runs": lake.table("runs").to_arrow()["idempotency_key"].to_pylist(),
    }
    result = {}
    for table, keys in found.items():
        counts = Counter(k for k in keys if k is not None)
        expected = report.expected[table]
        result[table] = (sorted(expected - set(counts)), sorted(k for k, n in counts.items() if n > 1))
    return result

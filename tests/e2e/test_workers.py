"""``mediagraph serve --workers 2``: two uvicorn worker processes on one lake."""
from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.conftest import LiveServer


def test_writes_through_one_worker_are_read_through_the_other(tmp_path: Path) -> None:
    # the parent opens the lake before it spawns the workers, and each worker imports lancedb: slow on a busy machine
    server = LiveServer(str(tmp_path / "lake"), extra_args=["--workers", "2"], startup_seconds=180)
    try:
        pids: set[int] = set()
        deadline = time.time() + 90  # the second worker may still be importing lancedb
        while len(pids) < 2 and time.time() < deadline:
            pids.add(httpx.get(server.url + "/healthz", timeout=10).json()["pid"])
            time.sleep(0.1)
        assert len(pids) == 2, f"only {pids} answered"
        names = [f"Worker title {i}" for i in range(8)]
        for name in names:  # a new connection each time: the kernel spreads them over both workers
            r = httpx.post(server.url + "/graphql", json={
                "query": "mutation ($n: String!) { createTitle(input: {name: $n, kind: MOVIE}) { id } }",
                "variables": {"n": name}}, timeout=30)
            assert r.status_code == 200 and "errors" not in r.json(), r.text
        for _ in range(8):
            r = httpx.post(server.url + "/graphql", json={
                "query": "query Everything { titles(search: \"worker\") { edges { node { name } } } }"}, timeout=30)
            assert sorted(e["node"]["name"] for e in r.json()["data"]["titles"]["edges"]) == names
        # the workers' metrics add up, whichever of them answers the scrape
        metrics = httpx.get(server.url + "/metrics", timeout=10).text
        assert 'mediagraph_graphql_requests_total{operation="Everything",type="query"} 8.0' in metrics
        assert 'mediagraph_lake_writes_total{table="titles"} 8.0' in metrics
    finally:
        server.stop()

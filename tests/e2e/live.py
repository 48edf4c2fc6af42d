"""Real processes for end-to-end tests: the media graph under uvicorn on a tmp lake, seeded over
GraphQL, and Node scripts from js/ (the federation gateway, the graphql-http audit)."""
from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "js"


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (CI installs it: .ci/setup-node.sh)")
    if not (JS / "node_modules" / "@apollo" / "gateway").is_dir():
        pytest.fail("js/node_modules is missing: run .ci/setup-node.sh (npm ci in js/)")
    return node


def gql(url: str, query: str, variables: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
    response = httpx.post(url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=30)
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]


def seed(server: LiveServer) -> dict[str, Any]:
    """Two titles with a few assets each, written through GraphQL mutations."""
    url = server.url + "/graphql"
    titles = [gql(url, "mutation($i: TitleInput!) { createTitle(input: $i) { id name } }",
                  {"i": {"name": name, "kind": "MOVIE", "releaseYear": year}})["createTitle"]
              for name, year in (("Northern Storm", 2023), ("Quiet Harbour", 2024))]
    assets = gql(url, "mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id role title { id } } }", {"i": [
        {"titleId": t["id"], "mediaType": "VIDEO", "role": role, "uri": f"s3://studio/{t['id']}/{role}.mov",
         "durationSeconds": 90.0, "width": 1920, "height": 1080}
        for t in titles for role in ("source", "trailer")]})["registerAssets"]
    return {"titles": titles, "assets": assets}


_shared: dict[str, Any] = {}


def shared_server() -> tuple[LiveServer, dict[str, Any]]:
    """One seeded server for the read-only end-to-end tests of a run (starting one takes seconds)."""
    if "server" not in _shared:
        lake = Path(tempfile.mkdtemp(prefix="mediagraph-e2e-")) / "lake"
        # the graphql-http audit and the gateway fire their requests all at once from one client: this
        # server tests the protocol, so the per-client concurrency limit (tests/http/) is raised here
        server = LiveServer(str(lake), env={"MEDIAGRAPH_MAX_CONCURRENT_REQUESTS": "256"})
        atexit.register(shutil.rmtree, lake.parent, True)
        atexit.register(server.stop)
        _shared["server"], _shared["data"] = server, seed(server)
    return _shared["server"], _shared["data"]


class NodeProcess:
    """A Node script that prints one JSON line when ready and serves until its stdin closes."""

    def __init__(self, args: list[str], log: Path, timeout: float = 60) -> None:
        self.log = log
        self.proc = subprocess.Popen([node_or_skip(), *args], cwd=JS, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
        assert self.proc.stdout is not None
        deadline = time.time() + timeout
        line = ""
        while time.time() < deadline and not line:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node {args} exited: {log.read_text()}")
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                text = self.proc.stdout.readline().strip()
                line = text if text.startswith("{") else ""
        if not line:
            self.stop()
            raise RuntimeError(f"node {args} did not start: {log.read_text()}")
        self.info: dict[str, Any] = json.loads(line)

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def run_node(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([node_or_skip(), *args], cwd=JS, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "NODE_NO_WARNINGS": "1"})

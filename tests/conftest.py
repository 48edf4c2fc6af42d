"""Shared fixtures: a real LanceDB lake in a tmp dir, factories with defaults, a GraphQL client,
and a real uvicorn server for end-to-end tests."""
from __future__ import annotations

import hashlib
import itertools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

os.environ.setdefault("LANCE_LOG", "error")

from graph_api.lake import Lake  # noqa: E402
from graph_api.settings import Settings  # noqa: E402

_seq = itertools.count()


@pytest.fixture
def lake_dir(tmp_path: Path) -> str:
    return str(tmp_path / "lake")


@pytest.fixture
def lake(lake_dir: str) -> Lake:
    return Lake(lake_dir, background_compaction=False)


def checksum(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def make_title(lake: Lake, **fields: Any) -> dict[str, Any]:
    row = {"name": f"Title {next(_seq)}", "kind": "MOVIE", "release_year": 2024, **fields}
    return lake.titles.create([row])[0]


def asset_input(title_id: str, **fields: Any) -> dict[str, Any]:
    n = next(_seq)
    return {"title_id": title_id, "media_type": "VIDEO", "role": "source", "uri": f"s3://studio/media/{n}.mov",
            "checksum": checksum(f"content {n}"), "size_bytes": 1_000_000 + n, "duration_seconds": 60.0,
            "width": 1920, "height": 1080, "frame_rate": 24.0, **fields}


def make_assets(lake: Lake, title_id: str, count: int = 1, **fields: Any) -> list[dict[str, Any]]:
    return lake.assets.register([asset_input(title_id, **fields) for _ in range(count)])


class GraphQLClient:
    """POSTs GraphQL to an ASGI app (TestClient) or a live server (httpx)."""

    def __init__(self, http: Any) -> None:
        self.http = http

    def post(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}}, **kw)
        assert response.headers["content-type"].startswith("application/"), response.text
        return response.json()

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.post(query, variables)
        assert not result.get("errors"), result["errors"]
        return result["data"]

    def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        result = self.post(query, variables)
        assert result.get("errors"), f"expected an error, got {result}"
        return result["errors"][0]


@pytest.fixture
def settings(lake_dir: str) -> Settings:
    return Settings.load(env={}, lake=lake_dir, auth="off")


@pytest.fixture
def gql(settings: Settings, lake: Lake) -> Iterator[GraphQLClient]:
    from starlette.testclient import TestClient

    from graph_api.http.app import create_app

    with TestClient(create_app(settings, lake)) as http:
        yield GraphQLClient(http)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, lake_dir: str, extra_args: list[str] | None = None, env: dict[str, str] | None = None,
                 startup_seconds: float = 60) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(lake_dir).parent / f"server-{self.port}.log"
        # auth is on by default; these servers test everything else (tests/auth/ passes --auth on)
        cmd = [sys.executable, "-m", "graph_api.cli", "serve", "--lake", lake_dir, "--port", str(self.port),
               "--auth", "off", *(extra_args or [])]
        self.proc = subprocess.Popen(cmd, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})
        deadline = time.time() + startup_seconds
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log.read_text()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def live_server(lake_dir: str) -> Iterator[LiveServer]:
    server = LiveServer(lake_dir)
    yield server
    server.stop()

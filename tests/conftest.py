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
from tests.s3 import SeaweedS3  # noqa: E402

_seq = itertools.count()

TESTS = Path(__file__).resolve().parent
# The core tests run on a local directory and on S3: the tests under these paths that use ``lake_dir`` (or
# ``lake``, ``settings``, ``gql`` built on it) get both; ``pytest -m s3`` runs the S3 half alone and
# ``-m "not s3"`` skips it. The rest keep a local directory: the S3 half must stay within ~90 s of the suite.
ON_BOTH_BACKENDS = ("lake/", "lineage/test_lineage_store.py", "workflows/test_workflow_lake.py")
LAKE_BACKENDS = ["local", pytest.param("s3", marks=pytest.mark.s3)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "lake_backend" in metafunc.fixturenames:
        where = metafunc.definition.path.resolve().relative_to(TESTS).as_posix()
        if where.startswith(ON_BOTH_BACKENDS):
            metafunc.parametrize("lake_backend", LAKE_BACKENDS, indirect=True)


@pytest.fixture
def lake_backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "local"))


@pytest.fixture
def lake_dir(lake_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where a test's lake lives: a tmp dir, or a fresh prefix on the test S3 server."""
    if lake_backend == "s3":
        return str(request.getfixturevalue("s3_lake_uri"))
    return str(tmp_path / "lake")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """One real S3 server (SeaweedFS on loopback) for the whole run, started when a test first needs it."""
    server = SeaweedS3(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture
def s3_lake_uri(s3_server: SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh ``s3://`` lake; its storage options are in ``MEDIAGRAPH_STORAGE_*`` for this test, which is
    where a deployment puts them (``Connection`` reads them when it is given none)."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return s3_server.new_uri()


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
                 startup_seconds: float = 60, log_dir: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # next to a local lake; an s3:// lake has no directory to put it in
        self.log = (log_dir or Path(lake_dir).parent) / f"server-{self.port}.log"
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


def auth_on_server(lake_path: str) -> Iterator[LiveServer]:
    """For a module's ``server`` fixture: ``mediagraph serve --auth on`` with two workers on ``lake_path``,
    stopped when the module is done."""
    live = LiveServer(lake_path, extra_args=["--auth", "on", "--workers", "2"], startup_seconds=180)
    yield live
    live.stop()


@pytest.fixture
def live_server(lake_dir: str) -> Iterator[LiveServer]:
    server = LiveServer(lake_dir)
    yield server
    server.stop()

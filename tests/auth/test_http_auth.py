"""Bearer auth over real HTTP, against real uvicorn servers (`mediagraph serve --auth on`, two workers)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from graph_api.lake.connection import Connection
from graph_api.lake.tokens import Tokens, open_tokens
from tests.conftest import LiveServer, auth_on_server, free_port

QUERY = "{ titles(first: 5) { edges { node { id name } } } }"
MUTATION = 'mutation { createTitle(input: {name: "Harbour Lights", kind: MOVIE}) { id name } }'


def mediagraph(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "graph_api.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def lake_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("auth") / "lake")


@pytest.fixture(scope="module")
def server(lake_path: str) -> Iterator[LiveServer]:
    yield from auth_on_server(lake_path)


@pytest.fixture(scope="module")
def tokens(lake_path: str, server: LiveServer) -> Tokens:
    # the lake the server opened, through a connection of this process (as `mediagraph token` has)
    return open_tokens(Connection(lake_path, background_compaction=False))


def make_token(server: LiveServer, tokens: Tokens, name: str, scopes: list[str]) -> str:
    """A new token, once the server knows it (servers look for new tokens once a refresh interval)."""
    _, token = tokens.create(name, scopes)
    # every worker looks once a refresh interval (1 s): one worker knowing it says nothing of the other
    time.sleep(1.2)
    deadline = time.monotonic() + 5
    while 401 in {post(server, "{ __typename }", token).status_code for _ in range(4)}:
        assert time.monotonic() < deadline, "the servers did not learn of a new token within 6 s"
        time.sleep(0.1)
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post(server: LiveServer, query: str, token: str | None = None) -> httpx.Response:
    return httpx.post(server.url + "/graphql", json={"query": query}, headers=bearer(token) if token else {},
                      timeout=30)


def assert_unauthenticated(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["UNAUTHENTICATED"]


def assert_forbidden(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["FORBIDDEN"]


def test_no_token_or_a_bad_one_is_401_on_every_guarded_route(server: LiveServer, tokens: Tokens) -> None:
    good = make_token(server, tokens, "probe", ["read", "write"])
    wrong_secret = good[:-2] + ("xy" if not good.endswith("xy") else "zw")
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwYXNz"},
                    bearer("mgt_0000000000000000_nothing"), bearer(wrong_secret), bearer("not-a-token")):
        assert_unauthenticated(httpx.post(server.url + "/graphql", json={"query": QUERY}, headers=headers))
        assert_unauthenticated(httpx.get(server.url + "/graphql", params={"query": QUERY}, headers=headers))
        assert_unauthenticated(httpx.post(server.url + "/api/v1/lineage", json={}, headers=headers))
        assert_unauthenticated(httpx.get(server.url + "/api/v1/lineage/runs/run_x", headers=headers))
        assert_unauthenticated(httpx.get(server.url + "/metrics", headers=headers))
    # nothing was written by the refused mutation attempts
    assert_unauthenticated(post(server, MUTATION, wrong_secret))
    assert post(server, QUERY, good).json()["data"] == {"titles": {"edges": []}}


def test_health_and_the_graphiql_page_are_open_and_the_page_names_no_ids(server: LiveServer, tokens: Tokens) -> None:
    assert httpx.get(server.url + "/healthz").status_code == 200
    writer = make_token(server, tokens, "seed", ["write"])
    created = post(server, 'mutation { createTitle(input: {name: "Secret Cove", kind: MOVIE}) { id } }', writer)
    title_id = created.json()["data"]["createTitle"]["id"]
    page = httpx.get(server.url + "/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert title_id not in page.text
    assert httpx.get(server.url + "/favicon.ico").status_code == 200


def test_scopes_reads_need_read_and_mutations_and_lineage_events_need_write(
        server: LiveServer, tokens: Tokens) -> None:
    reader = make_token(server, tokens, "reader", ["read"])
    writer = make_token(server, tokens, "writer", ["write"])
    admin = make_token(server, tokens, "admin only", ["admin"])

    assert "errors" not in post(server, QUERY, reader).json()
    assert_forbidden(post(server, MUTATION, reader))
    assert_forbidden(post(server, 'mutation { setJobVersion(namespace: "n", name: "j", version: "2") { name } }',
                          reader))
    assert_forbidden(httpx.post(server.url + "/api/v1/lineage", json={"eventType": "START"}, headers=bearer(reader)))
    # past auth, the lineage API answers as it would: an unknown run is 404, a bad event 400
    assert httpx.get(server.url + "/api/v1/lineage/runs/run_nope", headers=bearer(reader)).status_code == 404
    assert httpx.get(server.url + "/metrics", headers=bearer(reader)).status_code == 200
    # its use is noted, for `mediagraph token list` (at most once a minute per token and worker)
    assert next(r for r in tokens.list() if r.name == "reader").last_used_at is not None
    assert next(r for r in tokens.list() if r.name == "admin only").last_used_at is not None

    written = post(server, MUTATION, writer)
    assert written.status_code == 200 and written.json()["data"]["createTitle"]["name"] == "Harbour Lights"
    assert_forbidden(post(server, QUERY, writer))
    assert_forbidden(httpx.get(server.url + "/api/v1/lineage/runs/run_nope", headers=bearer(writer)))
    event = httpx.post(server.url + "/api/v1/lineage", json={"eventType": "START"}, headers=bearer(writer))
    assert event.status_code == 400 and event.json()["error"]["code"] == "INVALID_EVENT"

    assert_forbidden(post(server, QUERY, admin))
    assert_forbidden(post(server, MUTATION, admin))
    # a mutation on GET stays 405 whatever the token: the method is wrong before the scope is
    assert httpx.get(server.url + "/graphql", params={"query": MUTATION}, headers=bearer(writer)).status_code == 405


def _status_everywhere(server: LiveServer, token: str, tries: int = 6) -> set[int]:
    # several requests: with two workers each answers some of them
    return {post(server, QUERY, token).status_code for _ in range(tries)}


def _until(server: LiveServer, token: str, status: int, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if _status_everywhere(server, token) == {status}:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"not {status} on every worker after {seconds} s: {_status_everywhere(server, token)}")


def test_a_token_made_and_revoked_by_the_command_while_serving_takes_effect_on_every_worker(
        server: LiveServer, lake_path: str) -> None:
    created = mediagraph("token", "create", "--scopes", "read", "--name", "ci", "--lake", lake_path)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert _until(server, token, 200, 3.0) < 3.0
    token_id = token.split("_")[1]
    revoked = mediagraph("token", "revoke", token_id, "--lake", lake_path)
    assert revoked.returncode == 0, revoked.stderr
    # the refresh interval is 1 s; a request on its way may still be served within it
    waited = _until(server, token, 401, 2.5)
    assert waited < 2.5
    assert _status_everywhere(server, token, tries=10) == {401}


def test_auth_off_warns_and_refuses_to_listen_off_loopback(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    refused = mediagraph("serve", "--lake", lake, "--auth", "off", "--host", "0.0.0.0", "--port", str(free_port()))
    assert refused.returncode == 2, refused
    assert "--allow-remote-without-auth" in refused.stderr and "Traceback" not in refused.stderr
    assert not Path(lake).exists()
    local = LiveServer(lake)  # --auth off on 127.0.0.1, as the tests' servers run
    try:
        assert post(local, QUERY).status_code == 200
    finally:
        local.stop()
    assert "WARNING: authentication is OFF" in local.log.read_text()
    forced = LiveServer(str(tmp_path / "lake2"), extra_args=["--host", "0.0.0.0", "--allow-remote-without-auth"])
    try:
        assert post(forced, QUERY).status_code == 200
    finally:
        forced.stop()
    assert "WARNING: authentication is OFF" in forced.log.read_text()


def test_serve_requires_auth_by_default(tmp_path: Path) -> None:
    # LiveServer passes --auth off first: MEDIAGRAPH_AUTH and a later flag decide, and unset means on
    port = free_port()
    default = subprocess.Popen([sys.executable, "-m", "graph_api.cli", "serve", "--lake", str(tmp_path / "lake"),
                                "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={k: v for k, v in os.environ.items() if k != "MEDIAGRAPH_AUTH"})
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert_unauthenticated(httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": QUERY}))
    finally:
        default.terminate()
        _, stderr = default.communicate(timeout=15)
    assert "authentication is OFF" not in stderr

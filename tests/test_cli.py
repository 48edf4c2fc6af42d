"""The mediagraph command on a real lake."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port


def mediagraph(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graph_api.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, subprocess.CompletedProcess]:
    """The real demo (corpus generated, ingested, derived), built once for this module."""
    lake = str(tmp_path_factory.mktemp("demo") / "lake")
    return lake, mediagraph("demo", "--lake", lake, "--no-serve")


def test_demo_builds_once_then_reuses_the_lake(demo: tuple[str, subprocess.CompletedProcess]) -> None:
    lake, first = demo
    assert first.returncode == 0, first.stderr
    assert "demo lake ready" in first.stderr and "24 step(s) run" in first.stderr
    media = Path(lake).parent / "demo-media"
    assert (media / "corpus" / "corpus.json").is_file() and any((media / "derived").rglob("proxy.mp4"))
    second = mediagraph("demo", "--lake", lake, "--no-serve")
    assert second.returncode == 0 and "reusing" in second.stderr, second.stderr
    assert "nothing to do" in second.stderr
    stats = mediagraph("lake", "stats", "--lake", lake)
    assert stats.returncode == 0
    lines = {line.split()[0]: line.split() for line in stats.stdout.splitlines()[1:]}
    # 2 films + a series + 2 episodes; 11 delivered files, 4 proxies, 25 frames
    assert int(lines["titles"][1]) == 5 and int(lines["assets"][1]) > 35
    assert int(lines["segments"][1]) > 4 * 4 + 4 * 6  # shots, dialogue lines and frames
    assert "id_idx(BTree)" in lines["assets"][-1] or "id_idx(BTree)," in stats.stdout


def test_lake_optimize_compacts(demo: tuple[str, subprocess.CompletedProcess]) -> None:
    lake, _ = demo
    result = mediagraph("lake", "optimize", "--lake", lake)
    assert result.returncode == 0, result.stderr
    assert "assets" in result.stdout and "-> 1" in result.stdout


def test_bad_flags_exit_with_a_message_not_a_trace(tmp_path: Path) -> None:
    result = mediagraph("serve", "--lake", str(tmp_path / "x"), "--auth", "maybe")
    assert result.returncode == 2
    assert "auth" in result.stderr and "Traceback" not in result.stderr


def test_the_lineage_tab_of_graphiql_opens_on_a_graph_of_the_demo(
        demo: tuple[str, subprocess.CompletedProcess]) -> None:
    from starlette.testclient import TestClient

    from graph_api.http.app import create_app
    from graph_api.settings import Settings
    from tests.test_server import page_examples

    lake, built = demo
    assert built.returncode == 0, built.stderr
    with TestClient(create_app(Settings.load(env={}, lake=lake, auth="off"))) as http:
        page = http.get("/graphql", headers={"accept": "text/html"})
        assert "token" not in page.text.lower()
        lineage = page_examples(page.text)["AssetLineage"]
        body = http.post("/graphql", json={"query": lineage["query"], "variables": lineage["variables"]}).json()
    assert "errors" not in body, body
    # a derived proxy, looking upstream: its run and its source
    assert lineage["variables"]["direction"] == "UPSTREAM" and body["data"]["asset"]["role"] == "proxy"
    kinds = {n["entity"]["__typename"] for n in body["data"]["lineage"]["nodes"]}
    assert {"Asset", "Run"} <= kinds and body["data"]["lineage"]["edges"]


def busy_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


@pytest.mark.parametrize("command", [["serve"], ["demo"]])
def test_a_busy_port_fails_in_one_line_before_the_url(command: list[str], tmp_path: Path) -> None:
    sock, port = busy_port()
    with sock:
        result = mediagraph(*command, "--lake", str(tmp_path / "lake"), "--port", str(port))
    assert result.returncode == 3, result
    assert result.stdout == "" and "Application startup complete" not in result.stderr
    assert result.stderr.strip().splitlines() == [f"mediagraph {command[0]}: cannot listen on 127.0.0.1:{port}: "
                                                  "the port is in use"]
    # the demo was not built for a server that cannot start
    assert not (tmp_path / "lake").exists()


def test_a_lake_that_cannot_be_opened_fails_in_one_line_before_the_url(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("not a lake")
    for workers in ("1", "2"):
        result = mediagraph("serve", "--lake", str(not_a_dir / "lake"), "--port", str(free_port()),
                            "--workers", workers)
        assert result.returncode == 4, result
        assert result.stdout == "" and "Traceback" not in result.stderr
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("mediagraph serve: cannot open lake") and str(not_a_dir) in line
    demo = mediagraph("demo", "--lake", str(not_a_dir / "lake"), "--port", str(free_port()))
    assert demo.returncode == 4 and demo.stdout == "", demo
    [line] = demo.stderr.strip().splitlines()
    assert line.startswith("mediagraph demo: cannot open lake")


def test_help_documents_the_exit_statuses() -> None:
    for args in ([], ["serve"], ["demo"]):
        text = mediagraph(*args, "--help").stdout
        assert "exit status:" in text
        assert "3    serve, demo: the server cannot listen" in text and "4    the lake cannot be opened" in text


def test_token_create_list_revoke(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    created = mediagraph("token", "create", "--scopes", "read,write", "--titles", "title_a,title_b",
                         "--name", "editor", "--lake", lake)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("mgt_") and " " not in token
    token_id, secret = token.split("_")[1], token.split("_", 2)[2]
    everything = mediagraph("token", "create", "--scopes", "read", "--all-titles", "--lake", lake)
    assert everything.returncode == 0, everything.stderr

    listed = mediagraph("token", "list", "--lake", lake, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["id"]: r for r in json.loads(listed.stdout)}
    assert rows[token_id]["name"] == "editor" and rows[token_id]["scopes"] == ["read", "write"]
    assert rows[token_id]["titles"] == ["title_a", "title_b"] and not rows[token_id]["allTitles"]
    assert rows[token_id]["createdAt"] and rows[token_id]["lastUsedAt"] is None and rows[token_id]["revokedAt"] is None
    assert len(rows) == 2 and [r["allTitles"] for r in rows.values()].count(True) == 1
    table = mediagraph("token", "list", "--lake", lake)
    assert token_id in table.stdout and "editor" in table.stdout and "last used" in table.stdout
    # the secret is shown once, at creation, and never again: not listed, not stored
    assert secret not in listed.stdout + table.stdout
    assert not any(secret.encode() in f.read_bytes() for f in Path(lake).rglob("*") if f.is_file())

    revoked = mediagraph("token", "revoke", token_id, "--lake", lake)
    assert revoked.returncode == 0, revoked.stderr
    rows = {r["id"]: r for r in json.loads(mediagraph("token", "list", "--lake", lake, "--json").stdout)}
    assert rows[token_id]["revokedAt"] is not None


def test_token_commands_refuse_bad_input_in_one_line(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    bad_scope = mediagraph("token", "create", "--scopes", "read,root", "--lake", lake)
    assert bad_scope.returncode == 2 and "scopes" in bad_scope.stderr and "Traceback" not in bad_scope.stderr
    both = mediagraph("token", "create", "--scopes", "read", "--titles", "t", "--all-titles", "--lake", lake)
    assert both.returncode == 2 and "Traceback" not in both.stderr
    missing = mediagraph("token", "list", "--lake", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert not (tmp_path / "nowhere").exists()
    mediagraph("token", "create", "--scopes", "read", "--lake", lake)
    unknown = mediagraph("token", "revoke", "0123456789abcdef", "--lake", lake)
    assert unknown.returncode == 1 and "NOT_FOUND" in unknown.stderr and "Traceback" not in unknown.stderr

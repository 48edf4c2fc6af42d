"""Abuse limits over real HTTP against a real uvicorn (issue 11, item 3): each finding of the
hostile-client probe is refused fast with a stable code, and nothing is written."""
from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph_api.lake import Lake
from tests.conftest import LiveServer, make_assets, make_title

DEEP_LEVELS = 25


def post(server: LiveServer, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
    return httpx.post(server.url + "/graphql", json={"query": query, "variables": variables or {}}, timeout=60, **kw)


@pytest.fixture(scope="module")
def series_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """A series with two episodes (each with a few assets): the probe's doubling query's data."""
    lake_dir = str(tmp_path_factory.mktemp("limits") / "lake")
    lake = Lake(lake_dir, background_compaction=False)
    series = make_title(lake, name="Harbour Lights", kind="SERIES")
    episodes = [make_title(lake, name=f"Episode {n}", kind="EPISODE", parent_id=series["id"]) for n in (1, 2)]
    asset = make_assets(lake, episodes[0]["id"], 3)[0]
    return lake_dir, {"series": series["id"], "episode": episodes[0]["id"], "asset": asset["id"]}


@pytest.fixture(scope="module")
def server(series_lake: tuple[str, dict[str, str]]) -> Iterator[LiveServer]:
    live = LiveServer(series_lake[0], env={"MEDIAGRAPH_MAX_TOKENS": "5000"})
    yield live
    live.stop()


def ids(series_lake: tuple[str, dict[str, str]]) -> dict[str, str]:
    return series_lake[1]


def test_the_25_level_parent_children_query_is_refused_fast(server: LiveServer, series_lake: Any) -> None:
    query = ('query($id: ID!) { title(id: $id) { ' + "parent { children { edges { node { " * DEEP_LEVELS + "id"
             + " } } } }" * DEEP_LEVELS + " } }")
    started = time.perf_counter()
    response = post(server, query, {"id": ids(series_lake)["episode"]})
    assert time.perf_counter() - started < 5
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    assert body.get("data") is None
    # the server is still there
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize("field", ['search(text: "ship harbour", first: 500) { score }',
                                   "titles(first: 500) { edges { node { assets(first: 500) { totalCount } } } }"])
def test_a_thousand_aliases_are_refused_fast(tmp_path: Path, series_lake: Any, field: str) -> None:
    live = LiveServer(series_lake[0], env={"MEDIAGRAPH_MAX_TOKENS": "100000"})
    try:
        query = "{ " + " ".join(f"a{i}: {field}" for i in range(1000)) + " }"
        started = time.perf_counter()
        body = post(live, query).json()
        assert time.perf_counter() - started < 5
        assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
        assert body["errors"][0]["extensions"]["aliases"] == 1000
    finally:
        live.stop()


def test_a_page_of_pages_is_too_costly_and_a_normal_query_reports_its_cost(server: LiveServer) -> None:
    costly = post(server, "{ titles(first: 500) { edges { node { assets(first: 500) { edges { node { id "
                          "annotations(first: 500) { edges { node { id } } } } } } } } } }")
    assert costly.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    fine = post(server, "{ titles(first: 10) { totalCount edges { node { id name } } } }").json()
    assert "errors" not in fine
    cost = fine["extensions"]["cost"]
    assert 0 < cost["estimated"] <= cost["maximum"] == 50_000_000


def test_a_document_over_the_token_limit_is_refused_while_parsing(server: LiveServer) -> None:
    # MEDIAGRAPH_MAX_TOKENS=5000 for this server: the setting reaches the parser
    query = "{ titles(first: 1) { totalCount " + "__typename " * 6000 + "} }"
    body = post(server, query).json()
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_TOKENS"


def test_a_10_mb_body_is_refused_with_413_before_it_is_parsed(server: LiveServer) -> None:
    body = json.dumps({"query": "{ __typename }", "variables": {"pad": "x" * (10 * 1024 * 1024)}})
    response = httpx.post(server.url + "/graphql", content=body, headers={"content-type": "application/json"},
                          timeout=60)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(server: LiveServer) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "{ __typename }", "variables": {"pad": "'
        for _ in range(12):
            yield b"x" * (1024 * 1024)
        yield b'"}}'

    response = httpx.post(server.url + "/graphql", content=chunks(), headers={"content-type": "application/json"},
                          timeout=60)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


def test_a_5000_deep_json_variable_is_a_bad_request_not_a_500(server: LiveServer) -> None:
    deep = "[" * 5000 + "]" * 5000
    body = '{"query": "query($v: JSON) { __typename }", "variables": {"v": ' + deep + "}}"
    response = httpx.post(server.url + "/graphql", content=body, headers={"content-type": "application/json"},
                          timeout=60)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    # 100 levels parse, but are still deeper than a request may nest
    response = post(server, "query($v: JSON) { __typename }", {"v": json.loads("[" * 100 + "]" * 100)})
    assert response.status_code == 400
    # and on GET too
    response = httpx.get(server.url + "/graphql", params={"query": "{ __typename }", "variables": '{"v":' + deep + "}"},
                         timeout=60)
    assert response.status_code == 400


# --- timeout and concurrency: a client that sends its body slowly holds its request open ----------

def slow_request(server: LiveServer, authorization: str | None) -> socket.socket:
    """A POST whose body never finishes arriving (a slowloris client)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    head = ("POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n" + (f"Authorization: {authorization}\r\n" if authorization else "") + "\r\n")
    sock.sendall(head.encode() + b'{"query": "{ __typename ')
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], dict[str, Any]]:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(lines[0].split()[1]), headers, json.loads(rest[:length])


@pytest.fixture
def strict_server(series_lake: Any) -> Iterator[LiveServer]:
    live = LiveServer(series_lake[0], env={"MEDIAGRAPH_REQUEST_TIMEOUT_SECONDS": "2",
                                           "MEDIAGRAPH_MAX_CONCURRENT_REQUESTS": "2"})
    yield live
    live.stop()


def test_a_request_that_does_not_finish_in_time_gets_timeout(strict_server: LiveServer) -> None:
    sock = slow_request(strict_server, None)
    try:
        started = time.perf_counter()
        status, _, body = read_response(sock)
        assert status == 504
        assert body["errors"][0]["extensions"]["code"] == "TIMEOUT"
        assert 1.5 < time.perf_counter() - started < 10
    finally:
        sock.close()


def test_a_client_with_too_many_requests_running_gets_429_and_others_are_served(strict_server: LiveServer) -> None:
    held = [slow_request(strict_server, "Bearer one") for _ in range(2)]
    try:
        time.sleep(0.3)  # both are inside the server
        refused = post(strict_server, "{ __typename }", headers={"Authorization": "Bearer one"})
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "TOO_MANY_REQUESTS"
        assert int(refused.headers["retry-after"]) >= 1
        # another principal (and a client without credentials) is not held up by the first
        assert post(strict_server, "{ __typename }", headers={"Authorization": "Bearer two"}).status_code == 200
        assert post(strict_server, "{ __typename }").status_code == 200
    finally:
        for sock in held:
            sock.close()
    # once they are gone the first client is served again
    deadline = time.time() + 10
    while post(strict_server, "{ __typename }", headers={"Authorization": "Bearer one"}).status_code == 429:
        assert time.time() < deadline
        time.sleep(0.2)


# --- what mutations may store ---------------------------------------------------------------------

CREATE_TITLE = "mutation($input: TitleInput!) { createTitle(input: $input) { id } }"
REGISTER = "mutation($input: [AssetInput!]!) { registerAssets(input: $input) { id } }"
ANNOTATE = "mutation($input: [AnnotationInput!]!) { addAnnotations(input: $input) { id } }"
COUNT = "{ titles(first: 1) { totalCount } }"


def refused(response: httpx.Response, field: str) -> dict[str, Any]:
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INVALID_ARGUMENT", error
    assert field in [p["field"] for p in error["extensions"]["problems"]], error
    assert len(response.content) < 20_000  # the value is not echoed back
    return error


def asset(title_id: str, **fields: Any) -> dict[str, Any]:
    return {"titleId": title_id, "mediaType": "VIDEO", "role": "source", "uri": "s3://studio/a.mov", **fields}


@pytest.mark.parametrize("name", ["n" * (2 * 1024 * 1024), "bad\x00name"])
def test_a_huge_or_nul_title_name_is_refused_and_nothing_is_written(server: LiveServer, name: str) -> None:
    before = post(server, COUNT).json()["data"]["titles"]["totalCount"]
    refused(post(server, CREATE_TITLE, {"input": {"name": name, "kind": "MOVIE"}}), "name")
    assert post(server, COUNT).json()["data"]["titles"]["totalCount"] == before


@pytest.mark.parametrize(("field", "value"), [("uri", "s3://studio/" + "u" * (1024 * 1024)),
                                              ("role", "r" * (100 * 1024)),
                                              ("uri", "s3://studio/a\r\nb.mov"),
                                              ("role", "source\x07"),
                                              ("externalId", "ext\x1b[31m")])
def test_long_or_control_character_asset_strings_are_refused(server: LiveServer, series_lake: Any, field: str,
                                                             value: str) -> None:
    episode = ids(series_lake)["episode"]
    batch = [asset(episode, externalId="fine-1"), asset(episode, **{field: value})]
    error = refused(post(server, REGISTER, {"input": batch}), field)
    assert any(p["index"] == 1 for p in error["extensions"]["problems"])
    found = post(server, "query($id: ID!) { title(id: $id) { assets(first: 100) { edges { node { uri role } } } } }",
                 {"id": episode}).json()
    stored = [e["node"] for e in found["data"]["title"]["assets"]["edges"]]
    assert stored and all(len(a["uri"]) < 100 and len(a["role"]) < 100 for a in stored)


def test_json_values_too_deep_or_too_large_are_refused(server: LiveServer, series_lake: Any) -> None:
    asset_id = ids(series_lake)["asset"]
    deep: Any = 1
    for _ in range(40):
        deep = {"k": deep}
    refused(post(server, ANNOTATE, {"input": [{"assetId": asset_id, "label": "x", "value": deep}]}), "value")
    huge = {"samples": list(range(100_000))}
    refused(post(server, ANNOTATE, {"input": [{"assetId": asset_id, "label": "x", "value": huge}]}), "value")
    refused(post(server, ANNOTATE, {"input": [{"assetId": asset_id, "label": "x", "value": {"t": "a\x00b"}}]}),
            "value")
    ok = post(server, ANNOTATE, {"input": [{"assetId": asset_id, "label": "fine", "value": {"a": [1, {"b": 2}]}}]})
    assert "errors" not in ok.json(), ok.json()


@pytest.mark.parametrize(("query", "variables", "field"), [
    ("mutation($a: ID!, $c: String) { reviewAsset(input: {assetId: $a, decision: APPROVED, comment: $c}) { id } }",
     {"c": "fine\x00hidden"}, "comment"),
    ("mutation($a: ID!, $t: String!) { addNotes(input: [{assetId: $a, text: \"ok\"}, {assetId: $a, text: $t}]) "
     "{ id } }", {"t": "bell\x07"}, "text"),
    ("mutation($a: ID!, $r: ID) { addNotes(input: [{assetId: $a, text: \"reply\", replyTo: $r}]) { id } }",
     {"r": "note_\r\nx"}, "replyTo"),
    ("mutation($a: ID!, $n: String!) { createPlaylist(input: {name: $n, assetIds: [$a]}) { id } }",
     {"n": "dailies\x00"}, "name"),
    ("mutation($a: ID!, $x: ID!) { createPlaylist(input: {name: \"dailies\", assetIds: [$a, $x]}) { id } }",
     {"x": "asset_\x1bx"}, "assetIds"),
    ("mutation($t: ID!, $n: String!) { importCut(input: {titleId: $t, name: $n, otio: \"{}\"}) { id } }",
     {"n": "c" * 2000}, "name"),
])
def test_workflow_text_and_ids_are_held_to_the_same_string_rules(server: LiveServer, series_lake: Any, query: str,
                                                                 variables: dict[str, Any], field: str) -> None:
    known = {"a": ids(series_lake)["asset"], "t": ids(series_lake)["episode"]}
    refused(post(server, query, {**known, **variables}), field)

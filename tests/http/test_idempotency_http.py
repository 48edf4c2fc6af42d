"""idempotencyKey over real HTTP (a real uvicorn with two workers, auth on): a retry returns the first result
and writes nothing, on every mutation; a reused key is refused; keys are per token; a claim a crash left
behind is never run twice."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pyarrow as pa
import pytest
from graphql import parse

from graph_api.lake.connection import Connection
from graph_api.lake.embeddings import table_name_for
from graph_api.lake.idempotency import KEYS, TABLE, IdempotencyKeys
from graph_api.lake.tokens import Tokens, open_tokens
from graph_api.schema.idempotency import request_hash
from tests.conftest import LiveServer, auth_on_server

CREATE = "mutation($name: String!, $key: String) { createTitle(input: {name: $name, kind: MOVIE}, " \
         "idempotencyKey: $key) { id name } }"


@pytest.fixture(scope="module")
def lake_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("idem") / "lake")


@pytest.fixture(scope="module")
def server(lake_path: str) -> Iterator[LiveServer]:
    yield from auth_on_server(lake_path)


@pytest.fixture(scope="module")
def connection(lake_path: str, server: LiveServer) -> Connection:
    return Connection(lake_path, background_compaction=False)


@pytest.fixture(scope="module")
def tokens(connection: Connection) -> Tokens:
    return open_tokens(connection)


def new_token(tokens: Tokens) -> tuple[str, str]:
    record, token = tokens.create("writer", ["read", "write"], all_titles=True)
    time.sleep(1.3)  # every worker looks for new tokens once a second
    return record.id, token


@pytest.fixture(scope="module")
def writer(tokens: Tokens) -> tuple[str, str]:
    return new_token(tokens)


def post(server: LiveServer, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = httpx.post(server.url + "/graphql", json={"query": query, "variables": variables or {}},
                          headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert response.status_code in (200, 400), response.text
    body: dict[str, Any] = response.json()
    return body


def rows(connection: Connection, table: str) -> int:
    return int(connection.table(table).count_rows())


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def test_every_mutation_takes_an_idempotency_key(server: LiveServer, writer: tuple[str, str]) -> None:
    # from the schema: a mutation added later without a key fails here
    fields = post(server, writer[1], '{ __schema { mutationType { fields { name args { name type { name kind '
                                     'ofType { name } } } } } } }')["data"]["__schema"]["mutationType"]["fields"]
    inputs = {t["name"]: {f["name"] for f in t["inputFields"] or []} for t in post(
        server, writer[1], "{ __schema { types { name inputFields { name } } } }")["data"]["__schema"]["types"]}
    missing = []
    for field in fields:
        names = {a["name"] for a in field["args"]}
        input_type = next((a["type"]["ofType"]["name"] for a in field["args"] if a["name"] == "input"
                           and a["type"]["ofType"]), None)
        if "idempotencyKey" not in names and "idempotencyKey" not in inputs.get(input_type or "", set()):
            missing.append(field["name"])
    assert not missing


def test_a_retry_returns_the_first_result_and_writes_nothing(server: LiveServer, writer: tuple[str, str],
                                                             connection: Connection) -> None:
    token = writer[1]
    first = post(server, token, CREATE, {"name": "Harbour", "key": "create-1"})
    title_id = first["data"]["createTitle"]["id"]
    titles = rows(connection, "titles")
    # retried a few times: two workers answer, each from the lake
    for _ in range(4):
        again = post(server, token, CREATE, {"name": "Harbour", "key": "create-1"})
        assert again["data"] == first["data"] and again["extensions"]["idempotentReplay"] is True
    assert rows(connection, "titles") == titles

    mutations: list[tuple[str, dict[str, Any], str]] = [
        ('mutation($t: ID!, $key: String) { registerAssets(input: [{titleId: $t, mediaType: VIDEO, role: "master", '
         'uri: "file:///harbour.mov"}], idempotencyKey: $key) { id version } }', {"t": title_id}, "assets"),
        ('mutation($a: ID!, $key: String) { upsertEmbeddings(space: "idem", model: "m", input: [{subjectId: $a, '
         'vector: [0.1, 0.2]}], idempotencyKey: $key) }', {}, table_name_for("idem")),
    ]
    asset_id = None
    for query, variables, table in mutations:
        if "$a" in query:
            variables = {**variables, "a": asset_id}
        once = post(server, token, query, {**variables, "key": f"k-{table}"})
        assert not once.get("errors"), once
        count = rows(connection, table)
        again = post(server, token, query, {**variables, "key": f"k-{table}"})
        assert again["data"] == once["data"], (once, again)
        assert rows(connection, table) == count
        if table == "assets":
            asset_id = once["data"]["registerAssets"][0]["id"]

    review = ('mutation($a: ID!, $key: String) { reviewAsset(input: {assetId: $a, decision: APPROVED}, '
              'idempotencyKey: $key) { id } }')
    run = ('mutation($a: ID!, $key: String) { recordRun(input: {job: {namespace: "ns", name: "proxy"}, inputs: [$a], '
           'outputs: [], idempotencyKey: $key}) { id } }')
    job = ('mutation($key: String) { setJobVersion(namespace: "ns", name: "proxy", version: "2", '
           'idempotencyKey: $key) { version } }')
    for query, table in ((review, "reviews"), (run, "runs"), (job, "jobs")):
        once = post(server, token, query, {"a": asset_id, "key": f"k-{table}"})
        assert not once.get("errors"), once
        count = rows(connection, table)
        assert post(server, token, query, {"a": asset_id, "key": f"k-{table}"})["data"] == once["data"]
        assert rows(connection, table) == count


def test_a_key_reused_for_another_request_is_refused_and_keys_are_per_token(
        server: LiveServer, writer: tuple[str, str], tokens: Tokens, connection: Connection) -> None:
    token = writer[1]
    post(server, token, CREATE, {"name": "Lighthouse", "key": "reuse-1"})
    titles = rows(connection, "titles")
    refused = post(server, token, CREATE, {"name": "Another film", "key": "reuse-1"})
    assert codes(refused) == ["IDEMPOTENCY_KEY_REUSED"] and refused.get("data") is None
    assert rows(connection, "titles") == titles
    # another token's key of the same name is its own
    _, other = new_token(tokens)
    theirs = post(server, other, CREATE, {"name": "Lighthouse", "key": "reuse-1"})
    assert not theirs.get("errors") and "idempotentReplay" not in theirs.get("extensions", {})
    assert rows(connection, "titles") == titles + 1
    # a refused mutation claims nothing: the same key may carry the corrected request
    bad = post(server, token, 'mutation($key: String) { createTitle(input: {name: "", kind: MOVIE}, '
                              'idempotencyKey: $key) { id } }', {"key": "fix-me"})
    assert codes(bad) == ["INVALID_ARGUMENT"]
    assert not post(server, token, CREATE, {"name": "Fixed", "key": "fix-me"}).get("errors")
    # two keys in one request are refused
    two = post(server, token, 'mutation { a: createTitle(input: {name: "A", kind: MOVIE}, idempotencyKey: "x") { id } '
                              'b: createTitle(input: {name: "B", kind: MOVIE}, idempotencyKey: "y") { id } }')
    assert codes(two) == ["INVALID_ARGUMENT"]


def test_simultaneous_retries_write_once(server: LiveServer, writer: tuple[str, str], connection: Connection) -> None:
    titles = rows(connection, "titles")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(server, writer[1], CREATE, {"name": "Storm", "key": "storm-1"}),
                                range(8)))
    assert rows(connection, "titles") <= titles + 1
    succeeded = [a["data"] for a in answers if not a.get("errors")]
    assert all(codes(a) == ["IDEMPOTENCY_KEY_IN_USE"] for a in answers if a.get("errors"))
    assert all(d == succeeded[0] for d in succeeded)
    # once the first has answered, every retry gets its result
    final = post(server, writer[1], CREATE, {"name": "Storm", "key": "storm-1"})
    assert not final.get("errors") and rows(connection, "titles") == titles + 1


def test_a_claim_a_crash_left_pending_is_never_run_again(server: LiveServer, writer: tuple[str, str],
                                                         connection: Connection) -> None:
    token_id, token = writer
    variables = {"name": "Interrupted", "key": "crash-1"}
    IdempotencyKeys(connection)  # the table exists
    # what a server killed after claiming the key (and maybe writing) leaves: a pending claim, long ago
    connection.add(TABLE, pa.Table.from_pylist([{
        "id": "claim-of-a-dead-server", "principal": token_id, "key": "crash-1",
        "request_hash": request_hash(parse(CREATE), None, variables), "state": "pending", "response": None,
        "created_at": datetime.now(UTC) - timedelta(hours=1)}], schema=KEYS))
    titles = rows(connection, "titles")
    answer = post(server, token, CREATE, variables)
    assert codes(answer) == ["IDEMPOTENCY_KEY_IN_DOUBT"], json.dumps(answer)
    assert rows(connection, "titles") == titles


def test_metrics_report_commit_conflicts_retried(server: LiveServer, writer: tuple[str, str]) -> None:
    metrics = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {writer[1]}"}, timeout=30)
    assert metrics.status_code == 200
    assert "mediagraph_lake_commit_conflict_retries" in metrics.text


def test_the_idempotency_key_header_keys_a_mutation_and_must_agree_with_the_argument(
        server: LiveServer, writer: tuple[str, str], connection: Connection) -> None:
    def send(query: str, variables: dict[str, Any], key: str) -> dict[str, Any]:
        response = httpx.post(server.url + "/graphql", json={"query": query, "variables": variables},
                              headers={"Authorization": f"Bearer {writer[1]}", "Idempotency-Key": key}, timeout=60)
        assert response.status_code in (200, 400), response.text
        body: dict[str, Any] = response.json()
        return body

    plain = "mutation($name: String!) { createTitle(input: {name: $name, kind: MOVIE}) { id } }"
    first = send(plain, {"name": "Header keyed"}, "header-1")
    assert not first.get("errors"), first
    titles = rows(connection, "titles")
    again = send(plain, {"name": "Header keyed"}, "header-1")
    assert again["data"] == first["data"] and again["extensions"]["idempotentReplay"] is True
    assert rows(connection, "titles") == titles
    # the header and an argument naming another key: refused, nothing written
    refused = send(CREATE, {"name": "Header keyed", "key": "argument-2"}, "header-2")
    assert codes(refused) == ["INVALID_ARGUMENT"] and refused.get("data") is None
    assert rows(connection, "titles") == titles
    # a query ignores the header
    assert not send("{ titles(first: 1) { totalCount } }", {}, "header-1").get("errors")

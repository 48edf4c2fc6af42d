"""The server's operations: federation entities, persisted queries, /metrics, request ids and
JSON logs, tracing."""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from graph_api.http.app import create_app
from graph_api.lake import Lake
from graph_api.settings import Settings
from tests.conftest import make_assets, make_title

GRAPHQL_RESPONSE = "application/graphql-response+json"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def client(settings: Settings, lake: Lake) -> Iterator[TestClient]:
    with TestClient(create_app(settings, lake)) as http:
        yield http


def test_entities_for_100_representations_take_a_constant_number_of_lake_reads(client: TestClient,
                                                                                 lake: Lake) -> None:
    title = make_title(lake)
    assets = make_assets(lake, title["id"], count=100)
    query = """query ($r: [_Any!]!) { _entities(representations: $r) {
                 ... on Asset { id uri title { id name } } ... on Title { name } } }"""

    def reads(n: int) -> int:
        reps = [{"__typename": "Asset", "id": a["id"]} for a in assets[:n]]
        reps.append({"__typename": "Title", "id": title["id"]})
        body = client.post("/graphql", json={"query": query, "variables": {"r": reps}}).json()
        assert "errors" not in body and len(body["data"]["_entities"]) == n + 1
        assert all(e["title"]["name"] == title["name"] for e in body["data"]["_entities"][:n])
        return body["extensions"]["lakeReads"]

    assert reads(100) == reads(2) <= 3


def test_service_sdl_is_a_federation_2_subgraph(client: TestClient) -> None:
    sdl = client.post("/graphql", json={"query": "{ _service { sdl } }"}).json()["data"]["_service"]["sdl"]
    assert "specs.apollo.dev/federation/v2.7" in sdl
    for entity in ("Title", "Asset", "Segment", "Run"):
        assert f'type {entity} implements Node @key(fields: "id")' in sdl


def test_apq_not_found_then_registered_then_served_by_hash(client: TestClient, lake: Lake) -> None:
    make_title(lake, name="Persisted")
    query = "query Names { titles { edges { node { name } } } }"
    ext = {"persistedQuery": {"version": 1, "sha256Hash": sha(query)}}
    miss = client.post("/graphql", json={"extensions": ext})
    assert miss.status_code == 200
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert "no-cache" in miss.headers["cache-control"]
    registered = client.post("/graphql", json={"query": query, "extensions": ext})
    assert registered.json()["data"]["titles"]["edges"][0]["node"]["name"] == "Persisted"
    hit = client.get("/graphql", params={"extensions": json.dumps(ext)})
    assert hit.json()["data"] == registered.json()["data"]
    wrong = client.post("/graphql", json={"query": query, "extensions": {
        "persistedQuery": {"version": 1, "sha256Hash": sha("something else")}}})
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["message"] == "provided sha does not match query"


def test_allowlist_runs_only_registered_operations(lake: Lake, lake_dir: str, tmp_path: Path) -> None:
    allowed = "query Count { titles { edges { node { id } } } }"
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [
        {"id": sha(allowed), "name": "Count", "type": "query", "body": allowed}]}))
    settings = Settings.load(env={}, lake=lake_dir, auth="off", persisted_queries="allowlist",
                             persisted_queries_file=str(manifest))
    with TestClient(create_app(settings, lake)) as http:
        by_hash = http.post("/graphql", json={"extensions": {"persistedQuery": {"version": 1,
                                                                                "sha256Hash": sha(allowed)}}})
        assert by_hash.json() == {"data": {"titles": {"edges": []}}, "extensions": {
            "cost": {"estimated": 102, "maximum": settings.max_cost, "depth": 4}, "lakeReads": 1}}
        assert "errors" not in http.post("/graphql", json={"query": allowed}).json()
        other = http.post("/graphql", json={"query": "{ titles { edges { node { name } } } }"})
        assert other.status_code == 400
        assert other.json()["errors"][0]["extensions"]["code"] == "QUERY_NOT_IN_ALLOWLIST"
        unknown = http.post("/graphql", json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab"}}})
        assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"


def test_graphql_response_json_status_codes(client: TestClient) -> None:
    accept = {"accept": GRAPHQL_RESPONSE}
    ok = client.post("/graphql", json={"query": "{ __typename }"}, headers=accept)
    assert ok.status_code == 200 and ok.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    invalid = client.post("/graphql", json={"query": "{ nope }"}, headers=accept)
    assert invalid.status_code == 400 and "data" not in invalid.json()
    assert client.post("/graphql", json={"query": "{ nope }"}).status_code == 200
    not_found = client.post("/graphql", json={"query": '{ title(id: "title_x") { name } }'}, headers=accept)
    assert not_found.status_code == 200 and not_found.json()["data"] == {"title": None}
    assert client.get("/graphql", params={"query": "mutation { __typename }"}).status_code == 405
    assert client.post("/graphql", content=b"{}", headers={"content-type": "text/plain"}).status_code == 415
    assert client.post("/graphql", json={"query": "{ __typename }"}, headers={"accept": "text/csv"}).status_code == 406


def test_metrics_count_operations_errors_lake_reads_writes_and_fragments(client: TestClient) -> None:
    client.post("/graphql", json={"query": 'mutation Make { createTitle(input: {name: "M", kind: MOVIE}) { id } }'})
    for _ in range(3):
        client.post("/graphql", json={"query": "query Listing { titles { edges { node { name } } } }"})
    client.post("/graphql", json={"query": "query Broken { nope }"})
    text = client.get("/metrics").text
    assert 'mediagraph_graphql_requests_total{operation="Listing",type="query"} 3.0' in text
    assert 'mediagraph_graphql_requests_total{operation="Make",type="mutation"} 1.0' in text
    assert 'mediagraph_graphql_request_duration_seconds_count{operation="Listing"} 3.0' in text
    assert 'mediagraph_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED",operation="Broken"} 1.0' in text
    assert 'mediagraph_lake_reads_total{table="titles"} 3.0' in text
    assert 'mediagraph_lake_writes_total{table="titles"} 1.0' in text
    assert 'mediagraph_lake_fragments{table="titles"} 1.0' in text
    assert 'mediagraph_http_requests_total{method="POST",route="/graphql",status="200"} 5.0' in text


def test_lineage_graph_size_is_reported_when_lineage_is_attached(client: TestClient) -> None:
    class Lineage:
        def size(self) -> dict[str, int]:
            return {"nodes": 7, "edges": 6, "runs": 2, "assets": 5}

        def refresh(self) -> bool:
            return False

    client.app.state.services.lineage = Lineage()  # type: ignore[attr-defined]
    text = client.get("/metrics").text
    assert "mediagraph_lineage_nodes 7.0" in text and "mediagraph_lineage_edges 6.0" in text


def test_request_id_is_kept_echoed_and_logged(client: TestClient, caplog: Any) -> None:
    from graph_api.http.logs import JsonFormatter

    with caplog.at_level(logging.INFO, logger="graph_api.access"):
        response = client.post("/graphql", json={"query": "query Who { __typename }"},
                               headers={"x-request-id": "gateway-42"})
    assert response.headers["x-request-id"] == "gateway-42"
    line = json.loads(JsonFormatter().format(caplog.records[-1]))
    assert line["requestId"] == "gateway-42" and line["operationName"] == "Who" and line["status"] == 200
    fresh = client.post("/graphql", json={"query": "{ __typename }"}, headers={"x-request-id": "bad id\n!"})
    assert fresh.headers["x-request-id"] != "bad id\n!" and len(fresh.headers["x-request-id"]) == 16


def test_tracing_makes_a_span_per_operation(lake_dir: str, lake: Lake) -> None:
    trace = pytest.importorskip("opentelemetry.trace")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    settings = Settings.load(env={}, lake=lake_dir, auth="off", tracing="on")
    with TestClient(create_app(settings, lake)) as http:
        http.post("/graphql", json={"query": "query Traced { titles { edges { node { id } } } }"})
    span = exporter.get_finished_spans()[-1]
    assert span.name == "graphql Traced"
    assert span.attributes["graphql.operation.type"] == "query" and span.attributes["mediagraph.lake_reads"] == 1


def test_graphiql_page_loads_its_files_from_the_server(client: TestClient) -> None:
    page = client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "unpkg" not in page.text and "jsdelivr" not in page.text
    for name in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js",
                 "mediagraph-graphiql.js"):
        assert f"/static/{name}" in page.text
        assert client.get(f"/static/{name}").status_code == 200


def page_examples(page: str) -> dict[str, dict[str, Any]]:
    """The example tabs of a GraphiQL page, by operation name, with their variables parsed."""
    import json
    import re

    config = json.loads(re.search(r'<script id="mediagraph-config" type="application/json">(.*?)</script>',
                                  page, re.DOTALL).group(1))
    return {tab["name"]: {**tab, "variables": json.loads(tab["variables"])} for tab in config["examples"]}


def first_event(client: TestClient, lake: Lake, tab: dict[str, Any]) -> dict[str, Any]:
    """The first event a subscription tab receives over the socket, titles being created meanwhile."""
    stop = threading.Event()

    def write() -> None:  # until the subscription has joined the feed, a write may come too early
        while not stop.wait(0.3):
            make_title(lake, name="Event example")

    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": tab["query"], "variables": tab["variables"]}})
        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        try:
            message = ws.receive_json()
        finally:
            stop.set()
            writer.join()
    assert message["type"] == "next" and "errors" not in message["payload"], message
    data: dict[str, Any] = message["payload"]["data"]
    return data


def test_every_graphiql_example_runs_with_its_variables(client: TestClient, lake: Lake) -> None:
    from graph_api.http.examples import EXAMPLES

    title = make_title(lake, name="Harbour Lights")
    make_assets(lake, title["id"], 1, role="source")

    def run_the_tabs() -> dict[str, Any]:
        # reloaded each time, as a user would after running CreateTitle: the ids follow the lake
        tabs = page_examples(client.get("/graphql", headers={"accept": "text/html"}).text)
        assert list(tabs) == [e.name for e in EXAMPLES]
        answers = {}
        for name in tabs:
            # reloaded before each tab, as the ResolveNote tab tells a user to do after AddNotes
            tab = page_examples(client.get("/graphql", headers={"accept": "text/html"}).text)[name]
            if "\nsubscription " in tab["query"]:
                answers[name] = first_event(client, lake, tab)  # GraphiQL runs it over graphql-transport-ws
                continue
            body = client.post("/graphql", json={"query": tab["query"], "variables": tab["variables"]}).json()
            assert "errors" not in body, (name, body)
            answers[name] = body["data"]
        return answers

    first, again = run_the_tabs(), run_the_tabs()
    # one example per mutation of the schema
    mutation_fields = client.post("/graphql", json={"query": "{ __schema { mutationType { fields { name } } } }"})
    used = " ".join(e.query for e in EXAMPLES)
    for field in mutation_fields.json()["data"]["__schema"]["mutationType"]["fields"]:
        assert f"{field['name']}(" in used, field["name"]
    # idempotent where the API allows it: the second round updated, it did not duplicate
    assert first["CreateTitle"] == again["CreateTitle"]
    assert first["RegisterAssets"] == again["RegisterAssets"]
    assert again["RegisterAssets"]["registerAssets"][0]["title"]["name"] == "Harbour Lights"
    assert first["RecordRun"]["recordRun"]["id"] == again["RecordRun"]["recordRun"]["id"]
    # the lineage tab of a lake with a derived asset starts on it, upstream
    lineage = page_examples(client.get("/graphql", headers={"accept": "text/html"}).text)["AssetLineage"]
    assert lineage["variables"]["direction"] == "UPSTREAM"
    assert again["AssetLineage"]["lineage"]["edges"]


def test_the_graphiql_page_says_nothing_about_tokens_and_has_an_icon(client: TestClient) -> None:
    page = client.get("/graphql", headers={"accept": "text/html"})
    assert "token" not in page.text.lower()
    assert 'rel="icon" href="/static/favicon.svg"' in page.text
    assert client.get("/static/favicon.svg").headers["content-type"].startswith("image/svg+xml")
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file

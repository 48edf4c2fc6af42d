"""End to end over real HTTP against a real uvicorn serving a real lake."""
from __future__ import annotations

import httpx

from tests.conftest import LiveServer


def _post(server: LiveServer, query: str, variables: dict | None = None) -> dict:
    response = httpx.post(server.url + "/graphql", json={"query": query, "variables": variables or {}}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_client_registers_media_and_reads_it_back_over_http(live_server: LiveServer) -> None:
    title = _post(live_server, 'mutation { createTitle(input: {name: "Harbor Lights", kind: SERIES}) { id } }')
    title_id = title["data"]["createTitle"]["id"]
    assets = _post(live_server, "mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id } }",
                   {"i": [{"titleId": title_id, "mediaType": "VIDEO", "role": "source", "uri": f"s3://b/{n}.mov",
                           "sizeBytes": 5_000_000_000} for n in range(3)]})
    assert len(assets["data"]["registerAssets"]) == 3
    data = _post(live_server, '{ titles(search: "harbor") { edges { node { name assets { edges { node { sizeBytes '
                              'title { id } } } } } } } }')["data"]
    [edge] = data["titles"]["edges"]
    assert [e["node"]["sizeBytes"] for e in edge["node"]["assets"]["edges"]] == [5_000_000_000] * 3


def test_bad_input_over_http_is_a_graphql_error_with_a_code(live_server: LiveServer) -> None:
    result = _post(live_server, "mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id } }",
                   {"i": [{"titleId": "title_missing", "mediaType": "VIDEO", "role": "source", "uri": "x"}]})
    assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "Traceback" not in str(result)


def test_healthz_and_graphiql_in_a_browser(live_server: LiveServer) -> None:
    health = httpx.get(live_server.url + "/healthz").json()
    assert health["status"] == "ok"
    page = httpx.get(live_server.url + "/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()

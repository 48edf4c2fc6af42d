"""``serve --production`` over real HTTP: GraphiQL and introspection off, ``_service`` kept for the
gateway, errors that say nothing about the server's insides or the schema."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from graph_api.lake import Lake
from tests.conftest import LiveServer, make_title


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    lake_dir = str(tmp_path_factory.mktemp("production") / "lake")
    make_title(Lake(lake_dir, background_compaction=False), name="Harbour Lights")
    live = LiveServer(lake_dir, extra_args=["--production"])
    yield live
    live.stop()


def graphql(server: LiveServer, query: str) -> dict:
    return httpx.post(server.url + "/graphql", json={"query": query}, timeout=30).json()


@pytest.mark.parametrize("query", ["{ __schema { queryType { name } } }", '{ __type(name: "Title") { name } }',
                                   "{ titles(first: 1) { edges { node { __type(name: \"Title\") { name } } } } }"])
def test_introspection_is_refused(production: LiveServer, query: str) -> None:
    body = graphql(production, query)
    assert "data" not in body or body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_the_gateway_still_reads_the_sdl(production: LiveServer) -> None:
    body = graphql(production, "{ _service { sdl } }")
    assert "errors" not in body
    assert "type Title" in body["data"]["_service"]["sdl"]
    assert graphql(production, "{ titles(first: 1) { totalCount } }")["data"]["titles"]["totalCount"] == 1


def test_no_graphiql_page(production: LiveServer) -> None:
    response = httpx.get(production.url + "/graphql", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, timeout=30)
    assert "graphiql" not in response.text.lower()
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_errors_do_not_suggest_the_schema(production: LiveServer) -> None:
    error = graphql(production, "{ titles(first: 1) { edges { node { nam } } } }")["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Did you mean" not in error["message"]
    assert set(error["extensions"]) == {"code"}


def test_the_same_server_without_production_mode_suggests_and_introspects(tmp_path: Path) -> None:
    lake_dir = str(tmp_path / "lake")
    Lake(lake_dir, background_compaction=False)
    live = LiveServer(lake_dir)
    try:
        assert graphql(live, "{ __schema { queryType { name } } }")["data"]["__schema"]["queryType"]["name"] == "Query"
        assert "Did you mean" in graphql(live, "{ titles(first: 1) { edges { node { nam } } } }")["errors"][0]["message"]
    finally:
        live.stop()

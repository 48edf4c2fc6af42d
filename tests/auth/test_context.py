"""The request's principal reaches the GraphQL context, with the lake view its access gives."""
from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from graph_api.http.app import GraphQLApp, create_app
from graph_api.lake import Lake
from graph_api.lake.tokens import LOCAL, open_tokens
from graph_api.schema.context import Context
from graph_api.settings import Settings


def contexts_of(app: Any, monkeypatch: pytest.MonkeyPatch) -> list[Context]:
    """Every context the app's GraphQL endpoint builds from now on."""
    endpoint = next(r.endpoint for r in app.routes if getattr(r, "path", "") == "/graphql")
    assert isinstance(endpoint, GraphQLApp)
    built: list[Context] = []
    original = endpoint.get_context

    async def recording(request: Any, response: Any) -> Context:
        context = await original(request, response)
        built.append(context)
        return context

    monkeypatch.setattr(endpoint, "get_context", recording)
    return built


def test_a_token_is_the_principal_of_its_requests(lake: Lake, lake_dir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(Settings.load(env={}, lake=lake_dir), lake)  # auth on: the default
    tokens = open_tokens(lake.connection)
    _, editor = tokens.create("editor@studio", ["read"], title_ids=["title_x"])
    _, vault = tokens.create("vault", ["read"], all_titles=True)
    built = contexts_of(app, monkeypatch)
    with TestClient(app) as http:
        for token in (editor, vault):
            response = http.post("/graphql", json={"query": "{ __typename }"},
                                 headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text
        assert http.post("/graphql", json={"query": "{ __typename }"}).status_code == 401
    assert [c.principal.name for c in built] == ["editor@studio", "vault"]
    assert built[0].principal.title_ids == {"title_x"} and built[0].principal.scopes == {"read"}
    # a token not granted every title reads through a narrower view; one granted all, through the lake's own
    assert not built[0].lake.access.unlimited
    assert built[1].lake.access.unlimited


def test_with_auth_off_every_request_is_local(lake: Lake, lake_dir: str, monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(Settings.load(env={}, lake=lake_dir, auth="off"), lake)
    built = contexts_of(app, monkeypatch)
    with TestClient(app) as http:
        assert http.post("/graphql", json={"query": "{ __typename }"},
                         headers={"Authorization": "Bearer whatever"}).status_code == 200
    assert [c.principal for c in built] == [LOCAL] and built[0].principal.name == "local"
    assert built[0].lake.access.unlimited

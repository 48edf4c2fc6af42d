"""Lineage through a title the caller may not see shows Redacted nodes in GraphQL: an opaque id, edges kept."""
from __future__ import annotations

import asyncio
from typing import Any

from graph_api.lake import Lake
from graph_api.lake.access import Access, access_for
from graph_api.lake.lineage import open_lineage
from graph_api.lake.tokens import Principal
from graph_api.schema import schema
from graph_api.schema.context import make_context
from graph_api.settings import Settings
from tests.conftest import asset_input, make_assets, make_title

QUERY = """query($id: ID!) { lineage(id: $id, direction: DOWNSTREAM) { root isPartial
  nodes { degree entity { __typename ... on Redacted { id } ... on Asset { id } ... on Run { id } } }
  edges { from to } } }"""


def _lineage(settings: Settings, lake: Lake, root: str, access: Access) -> dict[str, Any]:
    lineage = open_lineage(lake, settings)
    context = make_context(settings, lineage.lake, lineage, access=access)
    result = asyncio.run(schema.execute(QUERY, variable_values={"id": root}, context_value=context))
    assert not result.errors, result.errors
    assert result.data is not None
    return result.data["lineage"]


def test_a_hidden_step_is_a_redacted_node_with_its_edges(settings: Settings, lake: Lake) -> None:
    secret = make_title(lake, restricted=True)["id"]
    movie = make_title(lake)["id"]
    source = make_assets(lake, movie)[0]["id"]
    lineage = open_lineage(lake, settings)
    lineage.note_assets([lake.assets.get(source)])  # type: ignore[list-item]
    into = lineage.record_run({"job": {"namespace": "t", "name": "p"}, "inputs": [source],
                               "outputs": [asset_input(secret, role="proxy")]}).run
    unentitled = access_for(Principal(name="r", scopes=frozenset({"read"})))
    graph = _lineage(settings, lake, source, unentitled)
    kinds = [(n["degree"], n["entity"]["__typename"]) for n in graph["nodes"]]
    assert kinds == [(0, "Asset"), (1, "Redacted"), (2, "Redacted")]
    redacted = [n["entity"]["id"] for n in graph["nodes"][1:]]
    assert into.id not in str(graph) and into.outputs[0] not in str(graph)
    assert {(e["from"], e["to"]) for e in graph["edges"]} == {(source, redacted[0]), (redacted[0], redacted[1])}
    assert graph["isPartial"] is False
    entitled = _lineage(settings, lake, source, Access())
    assert [n["entity"]["__typename"] for n in entitled["nodes"]] == ["Asset", "Run", "Asset"]

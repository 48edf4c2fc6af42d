"""The studio's federation, for real: a Node subgraph (js/federation/releases.mjs) composed with
the media graph by @apollo/composition, behind @apollo/gateway inside @apollo/server."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.live import NodeProcess, gql, node_or_skip, run_node, shared_server


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    node_or_skip()
    tmp = tmp_path_factory.mktemp("federation")
    server, data = shared_server()
    title, other = data["titles"]
    trailer = next(a for a in data["assets"] if a["title"]["id"] == title["id"] and a["role"] == "trailer")
    promotions = tmp / "promotions.json"
    promotions.write_text(json.dumps([
        {"headline": "Now streaming", "titleId": title["id"], "assetId": trailer["id"]},
        {"headline": "Coming soon", "titleId": other["id"], "assetId": None},
    ]))
    gateway = NodeProcess(["federation/gateway.mjs", "--mediagraph", server.url + "/graphql",
                           "--promotions", str(promotions)], tmp / "gateway.log")
    try:
        yield {**data, "server": server, "gateway": gateway.info["gateway"], "hints": gateway.info["hints"],
               "title": title, "other": other, "trailer": trailer}
    finally:
        gateway.stop()


def test_the_composition_command_composes_the_media_graph(stack: dict[str, Any], tmp_path: Path) -> None:
    releases_sdl = tmp_path / "releases.graphql"
    script = "import { print } from 'graphql'; import { typeDefs } from './federation/releases.mjs'; " \
             "process.stdout.write(print(typeDefs));"
    printed = run_node(["--input-type=module", "-e", script])
    assert printed.returncode == 0, printed.stderr
    releases_sdl.write_text(printed.stdout)
    composed = run_node(["federation/compose.mjs", f"mediagraph={stack['server'].url}/graphql",
                         f"releases={releases_sdl}@http://127.0.0.1:4001/graphql"])
    assert composed.returncode == 0, composed.stderr
    supergraph = composed.stdout
    assert "join__graph" in supergraph and "MEDIAGRAPH" in supergraph and "RELEASES" in supergraph
    assert 'type Title' in supergraph and "releaseWindows" in supergraph


def test_a_query_from_the_media_graph_into_the_other_subgraph(stack: dict[str, Any]) -> None:
    data = gql(stack["gateway"], """
        query ($id: ID!) {
          title(id: $id) {
            name
            releaseWindows { territory opens }
            assets(role: "trailer") { edges { node { id role } } }
          }
        }""", {"id": stack["title"]["id"]})
    title = data["title"]
    assert title["name"] == "Northern Storm"
    assert [w["territory"] for w in title["releaseWindows"]] == ["DE", "FR", "JP", "US"]
    assert [e["node"]["id"] for e in title["assets"]["edges"]] == [stack["trailer"]["id"]]


def test_a_query_from_the_other_subgraph_into_the_media_graph(stack: dict[str, Any]) -> None:
    data = gql(stack["gateway"], """
        {
          promotions {
            headline
            title { id name releaseYear releaseWindows { territory } assets { edges { node { role } } } }
            trailer { id role uri mediaType title { name } }
          }
        }""")
    now, soon = data["promotions"]
    assert now["title"]["name"] == "Northern Storm" and now["title"]["releaseYear"] == 2023
    assert sorted(e["node"]["role"] for e in now["title"]["assets"]["edges"]) == ["source", "trailer"]
    assert len(now["title"]["releaseWindows"]) == 4
    assert now["trailer"] == {"id": stack["trailer"]["id"], "role": "trailer", "mediaType": "VIDEO",
                              "uri": f"s3://studio/{stack['title']['id']}/trailer.mov",
                              "title": {"name": "Northern Storm"}}
    assert soon["title"]["name"] == "Quiet Harbour" and soon["trailer"] is None


def test_a_missing_entity_is_null_not_an_error(stack: dict[str, Any]) -> None:
    data = gql(stack["gateway"], "query ($id: ID!) { title(id: $id) { name releaseWindows { territory } } }",
               {"id": "title_doesnotexist"})
    assert data["title"] is None

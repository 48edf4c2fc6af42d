"""The GraphiQL page served on ``GET /graphql`` to browsers, with the media graph's example
queries as tabs. Its scripts and styles come from ``graph_api/static`` (vendored from npm by
``js/vendor-graphiql.mjs``): the page never reaches for a CDN.

The headers tab takes a bearer token, ``{"Authorization": "Bearer <token>"}``, which GraphiQL
then sends with every request (and keeps in local storage); the first example says so.
"""
from __future__ import annotations

import html
import json
from typing import Any

EXAMPLES: list[dict[str, str]] = [
    {
        "name": "A title with its assets",
        "query": """\
# A title with its assets. Send a token in the Headers tab below:
#   {"Authorization": "Bearer <token from `mediagraph token create`>"}
query TitleWithAssets($search: String) {
  titles(search: $search, first: 5) {
    edges {
      node {
        id
        name
        kind
        releaseYear
        assets(first: 20) {
          edges {
            node { id mediaType role uri version durationSeconds width height }
          }
        }
      }
    }
  }
}
""",
        "variables": '{"search": null}',
    },
    {
        "name": "An asset's lineage and provenance",
        "query": """\
# Where an asset came from: its producing run (job, version, parameters), its inputs,
# whether it is stale, and the lineage graph upstream of it.
query AssetLineage($id: ID!) {
  asset(id: $id) {
    id
    role
    version
    stale
    producedBy {
      id
      job { namespace name version }
      jobVersion
      status
      parameters
      startedAt
      endedAt
    }
    derivedFrom { id role version }
  }
  lineage(id: $id, direction: UPSTREAM, maxDepth: 5) {
    isPartial
    nodes {
      degree
      entity {
        __typename
        ... on Asset { id role version }
        ... on Run { id job { name } }
      }
    }
    edges { from to }
  }
}
""",
        "variables": '{"id": "%(asset_id)s"}',
    },
    {
        "name": "A search",
        "query": """\
# Segments whose dialogue or captions match the text, with their asset and title.
query Search($text: String!) {
  search(text: $text, kinds: [DIALOGUE], first: 10) {
    score
    title { id name }
    asset { id role }
    segment { id kind start end text }
  }
}
""",
        "variables": '{"text": "storm"}',
    },
]

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Media Graph · GraphiQL</title>
<link rel="stylesheet" href="{static}/graphiql.min.css">
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script id="mediagraph-config" type="application/json">{config}</script>
<script src="{static}/react.production.min.js"></script>
<script src="{static}/react-dom.production.min.js"></script>
<script src="{static}/graphiql.min.js"></script>
<script src="{static}/mediagraph-graphiql.js"></script>
</body>
</html>
"""


def render(root_path: str = "", endpoint: str = "/graphql", asset_id: str | None = None) -> str:
    """The page; ``asset_id`` (any asset of the lake) fills the lineage example's variables."""
    examples: list[dict[str, Any]] = [
        {**e, "variables": e["variables"] % {"asset_id": asset_id or "asset_..."}} for e in EXAMPLES]
    config = {"endpoint": root_path + endpoint, "examples": examples, "headers": "{}"}
    # "</" must not end the <script> element early
    text = json.dumps(config).replace("</", "<\\/")
    return PAGE.format(static=html.escape(root_path + "/static"), config=text)

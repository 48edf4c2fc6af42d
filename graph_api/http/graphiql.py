"""The GraphiQL page served on ``GET /graphql`` to browsers, with the media graph's examples
(``graph_api.http.examples``) as tabs. Its scripts and styles come from ``graph_api/static``
(vendored from npm by ``js/vendor-graphiql.mjs``): the page never reaches for a CDN.

The headers editor stays on: GraphiQL sends what is typed there with every request (and keeps
it in local storage), and in a subscription socket's ``connection_init`` payload.
"""
from __future__ import annotations

import html
import json
from collections.abc import Mapping

from graph_api.http.examples import UNKNOWN, tabs

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Media Graph · GraphiQL</title>
<link rel="icon" href="{static}/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{static}/graphiql.min.css">
<style>
html, body {{ height: 100%; margin: 0; }}
body {{ display: flex; flex-direction: column; }}
#mediagraph-bar {{ flex: none; display: flex; gap: 1em; align-items: center; padding: 4px 12px;
  font: 13px system-ui, sans-serif; background: #111827; color: #f9fafb; }}
#mediagraph-bar a {{ color: #93c5fd; text-decoration: none; }}
#graphiql {{ flex: 1; min-height: 0; }}
</style>
</head>
<body>
<nav id="mediagraph-bar"><strong>Media Graph · GraphiQL</strong>
<a id="mediagraph-explore" href="{explore}">Explorer: titles, player, lineage graph →</a></nav>
<div id="graphiql">Loading GraphiQL…</div>
<script id="mediagraph-config" type="application/json">{config}</script>
<script src="{static}/react.production.min.js"></script>
<script src="{static}/react-dom.production.min.js"></script>
<script src="{static}/graphiql.min.js"></script>
<script src="{static}/mediagraph-graphiql.js"></script>
</body>
</html>
"""


def render(root_path: str = "", endpoint: str = "/graphql", ids: Mapping[str, str] | None = None) -> str:
    """The page; ``ids`` (from ``examples.ids_from``) fill the examples' variables."""
    # subscriptions go over graphql-transport-ws at the same path; the page makes the ws:// or wss:// URL
    # from its own location (the host a proxy serves it under is the browser's to know)
    config = {"endpoint": root_path + endpoint, "subscriptionEndpoint": root_path + endpoint,
              "examples": tabs(ids or UNKNOWN), "headers": "{}"}
    # "</" must not end the <script> element early
    text = json.dumps(config).replace("</", "<\\/")
    return PAGE.format(static=html.escape(root_path + "/static"), explore=html.escape(root_path + "/explore/"),
                       config=text)

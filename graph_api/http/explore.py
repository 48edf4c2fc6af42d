"""``/explore``: the visual explorer's built files (``explore/dist``, made by ``npm run build`` in ``explore/``).

A path that is not a built file answers ``index.html`` (the single-page app routes itself). Without a
build, every ``/explore`` path answers 503 with a page that says how to make one. The files are open
like GraphiQL's: the app asks for a token and sends it with each GraphQL request.
"""
from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

DIST = Path(__file__).resolve().parents[2] / "explore" / "dist"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Explorer not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>The explorer is not built</h1>
<p>This server has no <code>explore/dist</code>. Build it once (Node 20 and npm):</p>
<pre>cd explore &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>or run <code>bash .ci/setup</code>, then reload this page. GraphQL itself is at <a href="../graphql">/graphql</a>.</p>
</body></html>
"""


class SinglePageApp(StaticFiles):
    """Static files with a fallback to ``index.html`` for paths that are not files."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404:
                raise
            response = await super().get_response("index.html", scope)
        if path in (".", "index.html") or response.media_type == "text/html":
            # the page names hashed assets: it must be fetched again after a rebuild
            response.headers["Cache-Control"] = "no-cache"
        return response


async def not_built(request: Request) -> Response:
    return HTMLResponse(NOT_BUILT, status_code=503, headers={"Retry-After": "3600"})


async def to_slash(request: Request) -> Response:
    return RedirectResponse(request.scope.get("root_path", "") + "/explore/", status_code=308)


def routes(dist: Path = DIST) -> list[BaseRoute]:
    if not (dist / "index.html").is_file():
        return [Route("/explore", not_built), Route("/explore/{path:path}", not_built)]
    return [Route("/explore", to_slash), Mount("/explore", SinglePageApp(directory=dist, html=True))]


__all__ = ["DIST", "SinglePageApp", "routes"]

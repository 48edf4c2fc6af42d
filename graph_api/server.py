"""HTTP: /graphql (POST for clients, GraphiQL on GET in a browser), /healthz, and the lineage API."""
from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from graph_api.lake import Lake
from graph_api.schema import schema
from graph_api.schema.context import Context, make_context
from graph_api.settings import Settings

log = logging.getLogger("graph_api.server")


class Services:
    """What a running server holds: settings, the lake and its lineage."""

    def __init__(self, settings: Settings, lake: Lake | None = None) -> None:
        self.settings = settings
        self.lake = lake or Lake(
            settings.lake,
            storage_options=dict(settings.storage_options),
            read_consistency_seconds=settings.read_consistency_seconds,
            compact_small_fragments=settings.compact_small_fragments,
            max_batch=settings.max_batch,
        )
        self.lineage: Any = None
        self.started = time.time()


class GraphQLApp(GraphQL):
    def __init__(self, services: Services) -> None:
        super().__init__(schema, graphql_ide="graphiql", allow_queries_via_get=True)
        self.services = services

    async def get_context(self, request: Any, response: Any) -> Context:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        lineage = self.services.lineage
        if lineage is not None:
            # another process may have written lineage since: a cheap table-version check
            await _to_thread(lineage.refresh)
        return make_context(self.services.settings, self.services.lake, lineage, request_id=request_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            # a malformed body is still answered in GraphQL's error shape, with a stable code
            response = JSONResponse(
                {"errors": [{"message": exc.reason, "extensions": {"code": "BAD_REQUEST"}}]},
                status_code=exc.status_code,
            )
        await response(scope, receive, send)


async def _to_thread(fn: Any, *args: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(fn, *args)


async def healthz(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        tables = await _to_thread(services.lake.table_names)
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "lake": services.lake.uri, "tables": len(tables),
                         "uptimeSeconds": round(time.time() - services.started, 1)})


def create_app(settings: Settings | None = None, lake: Lake | None = None) -> Starlette:
    settings = settings or Settings.load()
    services = Services(settings, lake)
    attach_lineage(services)
    graphql = GraphQLApp(services)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log.info("serving lake %s", services.lake.uri)
        yield

    routes = [
        Route("/healthz", healthz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Mount("/graphql/", graphql),
    ]
    routes.extend(lineage_routes())
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.services = services
    return app


def attach_lineage(services: Services) -> None:
    """Attach the lineage graph to the lake, when the lineage package is available."""
    try:
        from graph_api.lake.lineage import open_lineage
    except ImportError:
        return
    services.lineage = open_lineage(services.lake, services.settings)


def lineage_routes() -> list[Route]:
    try:
        from graph_api.lineage_api import routes
    except ImportError:
        return []
    return routes()


def app_from_env() -> Starlette:
    """The factory uvicorn calls in each worker process (``--workers N``)."""
    return create_app(Settings.load())

"""The HTTP app: /graphql (GraphQL over HTTP for clients, GraphiQL on GET in a browser), /metrics,
/healthz, /static (GraphiQL's own files), /favicon.ico, the OpenLineage API, /media (asset bytes) and
/explore (the visual explorer's built files)."""
from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
from graphql import GraphQLError, parse
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http.temporal_response import TemporalResponse
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from graph_api.http import examples, explore, graphiql, lineage_api, logs, media
from graph_api.http.auth import Authenticator, AuthMiddleware, forbidden, request_principal, unauthenticated
from graph_api.http.errors import HTTPError
from graph_api.http.limits import RequestLimits
from graph_api.http.metrics import Metrics
from graph_api.http.persisted import PersistedQueries
from graph_api.http.protocol import (
    JSON,
    Params,
    error_body,
    negotiate,
    operation_of,
    read_params,
    response_body,
    status_for,
)
from graph_api.http.tracing import Tracing
from graph_api.lake import Lake
from graph_api.lake.access import access_for
from graph_api.lake.lineage import open_lineage
from graph_api.lake.tokens import NOBODY, Principal
from graph_api.schema import schema_for
from graph_api.schema.context import Context, make_context
from graph_api.schema.limits import Limits, estimate
from graph_api.settings import Settings
from graph_api.threads import run_sync

log = logging.getLogger("graph_api.http.app")
STATIC = Path(__file__).resolve().parent.parent / "static"

QUERY_ONLY = frozenset({OperationType.QUERY})
ANY_OPERATION = frozenset({OperationType.QUERY, OperationType.MUTATION})
# the scope each operation type needs (with auth on)
SCOPE_OF = {OperationType.QUERY: "read", OperationType.MUTATION: "write"}
# after a request or response this large (or an operation this long) the memory it took is handed back
RELEASE_AFTER_BYTES = 1 << 20
RELEASE_AFTER_SECONDS = 1.0
# a socket that has not sent connection_init by then is closed (4408)
CONNECTION_INIT_SECONDS = 10
SUBSCRIPTION_ONLY = (OperationType.SUBSCRIPTION,)


@dataclass
class SocketContext(Context):
    """The context of one graphql-transport-ws connection: built at the upgrade, bound to its principal
    at ``connection_init`` (whose payload may carry the token), and kept for the socket's life."""

    connection_params: dict[str, Any] = field(default_factory=dict)
    # who the upgrade request's Authorization header named (None: no header, or a bad one)
    upgrade_principal: Principal | None = None


class SubscriptionsOnly:
    """The schema as a socket sees it: subscriptions only (queries and mutations go over HTTP, where the
    scope of each operation type, the request limits and the timeout apply), under the query limits.

    ``QueryLimits`` refuses an operation by setting its result in ``on_execute``, which strawberry's
    streaming path does not look at: a subscription document is measured here, before it runs."""

    def __init__(self, schema: Any, limits: Limits, max_tokens: int) -> None:
        self._schema = schema
        self._limits = limits
        self._max_tokens = max_tokens

    def __getattr__(self, name: str) -> Any:
        return getattr(self._schema, name)

    async def stream(self, query: str | None, variable_values: dict[str, Any] | None = None,
                     context_value: Any | None = None, root_value: Any | None = None,
                     operation_name: str | None = None, **kwargs: Any) -> AsyncGenerator[Any, None]:
        refusal = self._over_limits(query, variable_values, operation_name)
        if refusal is not None:
            return _once(refusal)
        stream: AsyncGenerator[Any, None] = await self._schema.stream(
            query, variable_values=variable_values, context_value=context_value, root_value=root_value,
            operation_name=operation_name, allowed_operation_types=SUBSCRIPTION_ONLY, **kwargs)
        return stream

    def _over_limits(self, query: str | None, variables: dict[str, Any] | None,
                     operation_name: str | None) -> PreExecutionError | None:
        try:
            document = parse(query or "", max_tokens=self._max_tokens)
        except GraphQLError:
            return None  # strawberry answers a document that does not parse (or is too long), as over HTTP
        found = estimate(self._schema._schema, document, operation_name=operation_name, variables=variables,
                         limits=self._limits)
        violation = found.violation(self._limits)
        if violation is None:
            return None
        code, message = violation
        return PreExecutionError(data=None, errors=[GraphQLError(message, extensions={
            "code": code, "cost": found.cost, "depth": found.depth, "aliases": found.aliases})])


async def _once(result: Any) -> AsyncGenerator[Any, None]:
    yield result


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    def __init__(self, *, schema: Any, view: Any, **kwargs: Any) -> None:
        # the handler only calls ``stream`` (and reads nothing else of the schema that the proxy changes)
        settings = view.services.settings
        only = SubscriptionsOnly(schema, Limits.from_settings(settings), settings.max_tokens)
        super().__init__(schema=cast(Any, only), view=view, **kwargs)


class Services:
    """What a running server holds: settings, the lake and its lineage, and its operations kit."""

    def __init__(self, settings: Settings, lake: Lake | None = None) -> None:
        self.settings = settings
        self.lake = lake or Lake.from_settings(settings)
        self.lineage: Any = None
        self.started = time.time()
        self.persisted = PersistedQueries(settings.persisted_queries, settings.persisted_queries_file)
        self.tracing = Tracing(settings.tracing == "on")
        self.metrics = Metrics(self)
        self.auth = Authenticator.from_settings(settings, self.lake.connection)


class GraphQLApp(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(self, services: Services) -> None:
        production = services.settings.production
        super().__init__(schema_for(services.settings), graphql_ide=None if production else "graphiql",
                         allow_queries_via_get=True, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
                         connection_init_wait_timeout=timedelta(seconds=CONNECTION_INIT_SECONDS))
        self.max_subscriptions_per_connection = services.settings.max_concurrent_requests
        self.services = services

    async def get_context(self, request: Any, response: Any) -> Context:
        request_id = logs.current_request_id() or request.headers.get("x-request-id") or logs.new_request_id()
        lineage = self.services.lineage
        if lineage is not None and (not lineage.watched_locally or lineage.moved()):
            # another process may have written lineage since: on a local lake, a version check on the
            # event loop (~0.1 ms) spares the worker-thread hop when nothing moved
            await run_sync(lineage.refresh)
        principal = request_principal(request.scope)
        if request.scope["type"] == "websocket":
            # nobody until connection_init says who (on_ws_connect)
            return SocketContext(settings=self.services.settings, lake=self.services.lake.with_access(
                access_for(NOBODY)), request_id=request_id, principal=NOBODY, upgrade_principal=principal)
        if principal is None:
            raise unauthenticated()  # handle() refused it already: never build a context for nobody
        return make_context(self.services.settings, self.services.lake, lineage, access=access_for(principal),
                            request_id=request_id, principal=principal,
                            idempotency_key=request.headers.get("idempotency-key"))

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """Who the socket is: the token in the ``connection_init`` payload (``{"Authorization": "Bearer ..."}``
        or ``{"token": ...}``), else the upgrade request's Authorization header. No valid token, or one
        without the ``read`` scope, is refused (the socket closes with 4403, as graphql-transport-ws says)."""
        assert isinstance(context, SocketContext)
        principal = await self._socket_principal(context)
        if principal is None or not principal.can("read"):
            self._count_error("UNAUTHENTICATED" if principal is None else "FORBIDDEN")
            raise ConnectionRejectionError
        bound = make_context(self.services.settings, self.services.lake, self.services.lineage,
                             access=access_for(principal), request_id=context.request_id, principal=principal)
        for f in fields(Context):
            if f.name != "reads":  # the socket's read count keeps counting from the upgrade
                setattr(context, f.name, getattr(bound, f.name))
        return None

    async def _socket_principal(self, context: SocketContext) -> Principal | None:
        params = context.connection_params
        given = next((params[k] for k in ("Authorization", "authorization") if k in params), None)
        if given is None and params.get("token") is not None:
            given = f"Bearer {params['token']}"
        if given is None:
            return context.upgrade_principal
        if not isinstance(given, str):
            return None
        return await self.services.auth.principal(given)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return _error(HTTPError("GraphQL is served over GET and POST", 405, "METHOD_NOT_ALLOWED",
                                    {"Allow": "GET, POST"}), JSON)
        if request.method == "GET" and not self.services.settings.production and _wants_page(request):
            return await self.page(request)
        try:
            media = negotiate(request.headers.get("accept"))
        except HTTPError as exc:
            return _error(exc, JSON)
        if request_principal(request.scope) is None:
            self._count_error("UNAUTHENTICATED")
            return _error(unauthenticated(), media)
        try:
            params = await read_params(request, self.services.settings.max_json_depth)
        except HTTPError as exc:
            self._count_error(exc.code)
            return _error(exc, media)
        try:
            document, persisted = self.services.persisted.resolve(params.query, params.extensions)
        except HTTPError as exc:
            self._count_error(exc.code)
            self.services.metrics.persisted.labels(exc.code.lower()).inc()
            return _error(exc, media)
        if persisted:
            self.services.metrics.persisted.labels(persisted).inc()
        return await self.execute(request, params, document, media)

    async def execute(self, request: Request, params: Params, document: str | None, media: str) -> Response:
        name, kind = operation_of(params, document)
        logs.note(operationName=name, operationType=kind)
        sub_response = TemporalResponse()
        context = await self.get_context(request, sub_response)
        started = time.perf_counter()
        by_method = QUERY_ONLY if request.method == "GET" else ANY_OPERATION
        allowed = frozenset(t for t in by_method if context.principal.can(SCOPE_OF[t]))
        with self.services.tracing.span(f"graphql {name}", request.headers, **{
                "graphql.operation.name": name, "graphql.operation.type": kind,
                "mediagraph.request_id": context.request_id}) as span:
            try:
                result = await self.schema.execute(
                    document, variable_values=params.variables, context_value=context,
                    operation_name=params.operation_name, operation_extensions=params.extensions,
                    allowed_operation_types=allowed)
            except InvalidOperationTypeError as exc:
                if exc.operation_type in by_method:
                    self._count_error("FORBIDDEN")
                    return _error(forbidden(SCOPE_OF.get(exc.operation_type, "write")), media)
                return _error(HTTPError(f"{kind.title()}s are sent with POST", 405, "METHOD_NOT_ALLOWED",
                                        {"Allow": "POST"}), media)
            except CannotGetOperationTypeError as exc:
                result = ExecutionResult(data=None, errors=[GraphQLError(
                    exc.as_http_error_reason(), extensions={"code": "GRAPHQL_VALIDATION_FAILED"})])
            except MissingQueryError:
                return _error(HTTPError("The query parameter is missing"), media)
            seconds = time.perf_counter() - started
            codes = [str((e.extensions or {}).get("code", "INTERNAL")) for e in result.errors or []]
            if span is not None:
                span.set_attribute("mediagraph.lake_reads", context.reads.total)
                if codes:
                    span.set_attribute("graphql.error_codes", sorted(set(codes)))
        self.services.metrics.observe_operation(name, kind, seconds, codes)
        logs.note(lakeReads=context.reads.total, **({"errorCodes": sorted(set(codes))} if codes else {}))
        body = json.dumps(response_body(result), ensure_ascii=False, default=str).encode("utf-8")
        status = status_for(result, media)
        if status == 200 and sub_response.status_code and sub_response.status_code != 200:
            status = sub_response.status_code
        headers = {k: v for k, v in sub_response.headers.items() if k.lower() != "content-type"}
        received = request.headers.get("content-length", "")
        heavy = (len(body) >= RELEASE_AFTER_BYTES or seconds >= RELEASE_AFTER_SECONDS
                 or (received.isdigit() and int(received) >= RELEASE_AFTER_BYTES))
        return Response(body, status, headers=headers, media_type=f"{media}; charset=utf-8",
                        background=BackgroundTask(run_sync, release_memory) if heavy else None)

    async def page(self, request: Request) -> Response:
        root = request.scope.get("root_path", "")
        # the examples' ids, asked of the lake through the schema like any client would
        data: dict[str, Any] | None = None
        # the page itself is open: without a token it offers the examples without ids
        if request_principal(request.scope) is not None:
            try:
                context = await self.get_context(request, TemporalResponse())
                result = await self.schema.execute(examples.IDS_QUERY, variable_values=examples.IDS_VARIABLES,
                                                   context_value=context)
                data = None if result.errors else result.data
            except Exception:  # noqa: BLE001 - the page must open even when the lake does not answer
                log.warning("GraphiQL examples without ids: the lake did not answer", exc_info=True)
        return HTMLResponse(graphiql.render(root, "/graphql", examples.ids_from(data)))

    def _count_error(self, code: str) -> None:
        self.services.metrics.errors.labels("invalid_request", code).inc()


def release_memory() -> None:
    """Hand back what a heavy request left in Arrow's pool and glibc's heap: both keep freed memory for
    reuse, so without this a server's RSS stays at its largest request's peak (issue 11: 227 -> 1,106 MB)."""
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim


async def internal_error(request: Request, exc: Exception) -> Response:
    """A fault outside GraphQL execution: a stable code and no internals (the log has the trace)."""
    log.error("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(error_body("Internal error: the server logged the details", "INTERNAL"), status_code=500)


def _wants_page(request: Request) -> bool:
    q = request.query_params
    return "text/html" in request.headers.get("accept", "") and "query" not in q and "extensions" not in q


def _error(exc: HTTPError, media: str) -> Response:
    body = json.dumps(error_body(exc.message, exc.code)).encode("utf-8")
    return Response(body, exc.status, headers=exc.headers, media_type=f"{media}; charset=utf-8")


async def healthz(request: Request) -> Response:
    services: Services = request.app.state.services
    try:
        tables = await run_sync(services.lake.table_names)
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        return JSONResponse({"status": "unavailable", "error": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "lake": services.lake.uri, "tables": len(tables), "pid": os.getpid(),
                         "uptimeSeconds": round(time.time() - services.started, 1)})


async def favicon(request: Request) -> Response:
    # browsers ask for /favicon.ico on any page (GraphiQL's own <link> names the SVG)
    return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon",
                        headers={"Cache-Control": "public, max-age=86400"})


async def metrics(request: Request) -> Response:
    services: Services = request.app.state.services
    body, content_type = await run_sync(services.metrics.render)
    return Response(body, headers={"Content-Type": content_type})


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
        Route("/metrics", metrics),
        Route("/favicon.ico", favicon),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Mount("/graphql/", graphql),
        Mount("/static", StaticFiles(packages=[("graph_api", "static")]), name="static"),
    ]
    routes.extend(lineage_api.routes())
    routes.extend(media.routes(services))
    routes.extend(explore.routes())

    def done(scope: Scope, status: int, seconds: float) -> None:
        services.metrics.observe_http(scope["path"], scope["method"], status)
        services.metrics.sync_lake()

    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={Exception: internal_error},
                    middleware=[Middleware(logs.RequestLog, on_done=done), Middleware(RequestLimits, settings=settings),
                                Middleware(AuthMiddleware, authenticator=services.auth)])
    app.state.services = services
    return app


def attach_lineage(services: Services) -> None:
    """Attach the lineage graph to the lake."""
    services.lineage = open_lineage(services.lake, services.settings)
    services.lake = services.lineage.lake  # the lake under lineage's run rule


def app_from_env() -> Starlette:
    """The factory uvicorn calls in each worker process (``--workers N``)."""
    settings = Settings.load()
    logs.configure(settings.log_format, settings.log_level)
    return create_app(settings)

"""Who a request is, and whether it may ask what it asks: bearer tokens and the scope each route needs.

    route                                   with --auth on
    /healthz, /favicon.ico, /static/...     open
    GET /graphql, the GraphiQL page         open: the page sends the token with each request it makes
    /graphql                                a token; queries need ``read``, mutations ``write`` (``GraphQLApp``
                                            checks it by operation type, known once the document parses)
    POST /api/v1/lineage                    ``write``
    GET  /api/v1/lineage/...                ``read``
    /metrics                                ``read``: counts and timings name operations, not data
    /media/..., /explore/...                answered by their routes: /media takes a token or a signed URL
                                            (graph_api.http.media), /explore is static files that ask for a token
    websocket /graphql                      open here: ``GraphQLApp.on_ws_connect`` takes the token from the
                                            ``connection_init`` payload (else this upgrade's header) and needs
                                            ``read``; the socket runs subscriptions only
    anything else                           a token (Starlette's 404 and 405 then answer as without auth)

A bearer token is either one of the lake's (``mgt_...``, ``graph_api.lake.tokens``) or, when a JWT key is
configured, a JWT from an identity provider (``graph_api.http.jwts``); the two are told apart by shape.
No token or a bad one (an expired JWT too) is HTTP 401, code UNAUTHENTICATED, with ``WWW-Authenticate: Bearer``; a token
without the scope is 403, code FORBIDDEN; both with a GraphQL-shaped body. With --auth off every
request is ``tokens.LOCAL``.

``AuthMiddleware`` authenticates every request once and leaves its principal in the ASGI scope
(``request_principal``), None when it carried no valid token.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from graph_api.http.errors import HTTPError
from graph_api.http.jwts import JWTVerifier, looks_like_jwt
from graph_api.lake.connection import Connection
from graph_api.lake.tokens import LOCAL, Principal, Tokens, open_tokens
from graph_api.settings import Settings
from graph_api.threads import run_sync

_SCOPE_KEY = "mediagraph.principal"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="mediagraph"'}
OPEN_PATHS = frozenset({"/healthz", "/favicon.ico"})
OPEN_PREFIXES = ("/static/", "/media/", "/explore")
GRAPHQL_PATHS = ("/graphql",)


def unauthenticated(message: str = "This request needs a bearer token: send Authorization: Bearer <token> "
                                   "(mediagraph token create)") -> HTTPError:
    return HTTPError(message, 401, "UNAUTHENTICATED", dict(CHALLENGE))


def forbidden(scope: str) -> HTTPError:
    return HTTPError(f"This token lacks the {scope!r} scope this request needs", 403, "FORBIDDEN")


@dataclass(frozen=True)
class Authenticator:
    """The server's rule: ``tokens`` None means auth is off and everyone is ``LOCAL``; ``jwts`` None
    means JWTs are not accepted (no key configured)."""

    tokens: Tokens | None
    jwts: JWTVerifier | None = None

    @classmethod
    def from_settings(cls, settings: Settings, connection: Connection) -> Authenticator:
        if settings.auth == "off":
            return cls(None)
        return cls(open_tokens(connection, refresh_seconds=settings.token_refresh_seconds),
                   JWTVerifier.from_settings(settings))

    @property
    def enabled(self) -> bool:
        return self.tokens is not None

    async def principal(self, authorization: str | None) -> Principal | None:
        """Who an ``Authorization`` header stands for; None for a missing, malformed or dead token."""
        if self.tokens is None:
            return LOCAL
        if not authorization:
            return None
        kind, _, token = authorization.strip().partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            return None
        if looks_like_jwt(token.strip()):
            # a signature check, no lake read: cheap enough for the event loop
            return self.jwts.principal(token.strip()) if self.jwts is not None else None
        # the cache checks the table's version at most once a refresh interval: a read, off the event loop
        return await run_sync(self.tokens.authenticate, token.strip())


def set_principal(scope: Scope, principal: Principal | None) -> None:
    """Leave the request's principal where ``request_principal`` finds it (the middleware's one job)."""
    scope[_SCOPE_KEY] = principal


def request_principal(scope: Scope) -> Principal | None:
    """The principal ``AuthMiddleware`` found for this request; None when it carried no valid token."""
    principal = scope.get(_SCOPE_KEY)
    return principal if isinstance(principal, Principal) else None


def required_scopes(scope: Scope) -> tuple[str, ...]:
    """The scopes a route needs beyond a valid token; none for GraphQL over HTTP (decided per operation)."""
    path: str = scope["path"]
    if scope["type"] == "websocket":
        return ("read", "write")
    if path.startswith("/api/v1/lineage"):
        return ("read",) if scope.get("method") in ("GET", "HEAD") else ("write",)
    if path == "/metrics":
        return ("read",)
    return ()


def _is_open(scope: Scope) -> bool:
    path: str = scope["path"]
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return True
    # GraphQL answers its own refusals: the GraphiQL page is open, every operation is not; a socket's
    # token may come in its connection_init message, after the upgrade
    return path in GRAPHQL_PATHS or path.startswith("/graphql/")


class AuthMiddleware:
    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"authorization"), None)
        principal = await self.authenticator.principal(header)
        set_principal(scope, principal)
        if self.authenticator.enabled and not _is_open(scope):
            refusal = unauthenticated() if principal is None else None
            missing = [s for s in required_scopes(scope) if principal is not None and not principal.can(s)]
            if refusal is None and missing:
                refusal = forbidden(missing[0])
            if refusal is not None:
                await _refuse(refusal, scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _refuse(error: HTTPError, scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        # closing before accepting: the client sees its upgrade refused (HTTP 403)
        await send({"type": "websocket.close", "code": 4401 if error.status == 401 else 4403})
        return
    body = json.dumps({"errors": [{"message": error.message, "extensions": {"code": error.code}}]}).encode()
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = ["Authenticator", "AuthMiddleware", "forbidden", "request_principal", "required_scopes", "unauthenticated"]

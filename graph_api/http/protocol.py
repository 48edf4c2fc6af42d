"""GraphQL over HTTP (the GraphQL Foundation's spec, checked by graphql-http's ``auditServer``):
reading a request's parameters, choosing the response media type, and the status codes.

- POST needs ``Content-Type: application/json``; GET carries the parameters in the query string
  and runs queries only (a mutation on GET is 405).
- ``application/graphql-response+json`` is served when the client accepts it; a missing
  Accept, ``*/*`` and ``application/json`` get ``application/json``.
- With application/json every well-formed request is answered 200, errors in the body. With
  application/graphql-response+json a response without ``data`` (the document did not parse or
  validate, or its variables did not coerce) is 400; one with ``data``, even null, is 200.
- A malformed request (bad JSON, a parameter of the wrong type, no query) is 400 either way, and
  so is JSON nested deeper than the server's ``max_json_depth`` (refused before anything walks it).
  The body's size is limited before it gets here (graph_api.http.limits: 413).

A request refused here raises ``HTTPError``; the endpoint answers it with ``error_body``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from strawberry.types import ExecutionResult

from graph_api.http.errors import HTTPError
from graph_api.lake.validate import json_depth

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"

_OPERATION = re.compile(r"\b(query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")
_COMMENT = re.compile(r"#[^\n\r]*")


@dataclass
class Params:
    query: str | None = None
    variables: dict[str, Any] | None = None
    operation_name: str | None = None
    extensions: dict[str, Any] | None = field(default=None)


def negotiate(accept: str | None) -> str:
    """The media type to answer in, from the Accept header; 406 when neither JSON type is acceptable."""
    if not accept or not accept.strip():
        return JSON
    best: tuple[float, int, str] | None = None
    for item in accept.split(","):
        parts = [p.strip() for p in item.split(";")]
        media = parts[0].lower()
        q = 1.0
        for p in parts[1:]:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        if media == GRAPHQL_RESPONSE:
            candidate = (q, 1, GRAPHQL_RESPONSE)
        elif media in (JSON, "application/*", "*/*"):
            candidate = (q, 0, JSON)
        else:
            continue
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        raise HTTPError(f"Cannot answer in any of the accepted media types; accept {GRAPHQL_RESPONSE} "
                        f"or {JSON}", status=406, code="NOT_ACCEPTABLE")
    return best[2]


DEFAULT_MAX_JSON_DEPTH = 64


async def read_params(request: Request, max_json_depth: int = DEFAULT_MAX_JSON_DEPTH) -> Params:
    if request.method == "GET":
        q = request.query_params
        return _params({
            "query": q.get("query"),
            "operationName": q.get("operationName"),
            "variables": _json_param(q.get("variables"), "variables", max_json_depth),
            "extensions": _json_param(q.get("extensions"), "extensions", max_json_depth),
        })
    content_type = request.headers.get("content-type", "")
    media, _, options = content_type.partition(";")
    if media.strip().lower() != JSON:
        raise HTTPError(f"POST requests must have Content-Type: {JSON}", status=415,
                        code="UNSUPPORTED_MEDIA_TYPE")
    charset = re.search(r"charset=([^;\s]+)", options, re.IGNORECASE)
    if charset and charset.group(1).strip('"').lower() not in ("utf-8", "utf8"):
        raise HTTPError("Request bodies must be UTF-8", status=415, code="UNSUPPORTED_MEDIA_TYPE")
    body = await request.body()
    if not body.strip():
        raise HTTPError("The request body is empty; send a JSON object with a query")
    data = _load_json(body, "request body", max_json_depth)
    if not isinstance(data, dict):
        raise HTTPError("The request body must be a JSON object (batched requests are not supported)")
    return _params(data)


def _json_param(raw: str | None, name: str, max_depth: int) -> Any:
    if raw is None or raw == "":
        return None
    return _load_json(raw, f"{name} parameter", max_depth)


def _load_json(raw: str | bytes, what: str, max_depth: int) -> Any:
    try:
        value = json.loads(raw)
    except RecursionError:
        # the parser itself gave up (thousands of levels): as refused as any other deep value
        raise HTTPError(f"The {what} is nested deeper than {max_depth} levels") from None
    except ValueError:
        raise HTTPError(f"The {what} is not valid JSON") from None
    if json_depth(value, max_depth) > max_depth:
        raise HTTPError(f"The {what} is nested deeper than {max_depth} levels")
    return value


def _params(data: dict[str, Any]) -> Params:
    query, name = data.get("query"), data.get("operationName")
    variables, extensions = data.get("variables"), data.get("extensions")
    if query is not None and not isinstance(query, str):
        raise HTTPError("The query parameter must be a string")
    if name is not None and not isinstance(name, str):
        raise HTTPError("The operationName parameter must be a string")
    if variables is not None and not isinstance(variables, dict):
        raise HTTPError("The variables parameter must be a map")
    if extensions is not None and not isinstance(extensions, dict):
        raise HTTPError("The extensions parameter must be a map")
    if query is None and not (extensions and "persistedQuery" in extensions):
        raise HTTPError("The query parameter is missing")
    return Params(query=query, variables=variables, operation_name=name, extensions=extensions)


def operation_of(params: Params, document: str | None) -> tuple[str, str]:
    """(operation name, operation type) for metrics and logs, without parsing the document."""
    text = _COMMENT.sub("", document or "")
    found = _OPERATION.findall(text)
    if params.operation_name:
        kind = next((k for k, n in found if n == params.operation_name), "query")
        return params.operation_name, kind
    if found:
        return found[0][1], found[0][0]
    stripped = text.lstrip()
    if stripped.startswith("mutation"):
        return "anonymous", "mutation"
    if stripped.startswith("subscription"):
        return "anonymous", "subscription"
    return "anonymous", "query"


def is_request_error(result: ExecutionResult) -> bool:
    """True when the response has no ``data`` entry: nothing executed (parse, validation or
    variable errors carry no path; execution errors always do)."""
    errors = result.errors or []
    return result.data is None and bool(errors) and all(not e.path for e in errors)


def response_body(result: ExecutionResult) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if not is_request_error(result):
        body["data"] = result.data
    if result.errors:
        body["errors"] = [e.formatted for e in result.errors]
    if result.extensions:
        body["extensions"] = result.extensions
    return body


def status_for(result: ExecutionResult, media: str) -> int:
    if media == GRAPHQL_RESPONSE and is_request_error(result):
        return 400
    return 200


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}

"""The one place where errors become GraphQL ``extensions.code``.

Errors that carry a ``code`` (graph_api.errors, lineage.errors, media errors) keep their
message and code; parse and validation errors get Apollo's codes; anything else is masked
as INTERNAL with a request id, and its stack trace goes to the server log, never the client.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

log = logging.getLogger("graph_api.errors")


def classify(error: GraphQLError, request_id: str = "") -> GraphQLError:
    original = error.original_error
    extensions = dict(error.extensions or {})
    if original is None:
        if "code" not in extensions:
            message = error.message
            if message.startswith("Syntax Error") and "tokens. Parsing aborted" in message:
                extensions["code"] = "TOO_MANY_TOKENS"  # the max_tokens limit (graph_api.schema.limits)
            elif message.startswith("Syntax Error"):
                extensions["code"] = "GRAPHQL_PARSE_FAILED"
            elif "got invalid value" in message or "of required type" in message or "was not provided" in message:
                extensions["code"] = "BAD_USER_INPUT"
            else:
                extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
        return _with(error, error.message, extensions)
    if isinstance(original, GraphQLError) or (error.message.startswith("Variable '$") and not error.path):
        # a variable that failed to coerce (e.g. 1.5 for a Long): the client's input is wrong
        extensions["code"] = "BAD_USER_INPUT"
        return _with(error, error.message, extensions)
    code = getattr(original, "code", None)
    if isinstance(code, str):
        extensions["code"] = code
        details = getattr(original, "details", None)
        if isinstance(details, dict):
            extensions.update(_camel_details(details))
        return _with(error, _camel_fields(getattr(original, "message", None) or str(original)), extensions)
    if isinstance(original, (ValueError, TypeError)) and "cannot represent" in str(original).lower():
        extensions["code"] = "BAD_USER_INPUT"
        return _with(error, str(original), extensions)
    log.error("unexpected error in %s (request %s)", ".".join(map(str, error.path or [])) or "operation",
              request_id, exc_info=original)
    extensions = {"code": "INTERNAL", "requestId": request_id} if request_id else {"code": "INTERNAL"}
    return _with(error, "Internal error: the server logged the details" + (
        f" under request id {request_id}" if request_id else ""), extensions)


_FIELD = re.compile(r"(input\[\d+\]\.)([a-z]+(?:_[a-z]+)+)")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _camel_fields(message: str) -> str:
    """The lake names fields as Python does; GraphQL clients know them in camelCase."""
    return _FIELD.sub(lambda m: m.group(1) + _camel(m.group(2)), message)


def _camel_details(details: dict[str, Any]) -> dict[str, Any]:
    out = dict(details)
    if isinstance(out.get("problems"), list):
        out["problems"] = [{**p, "field": _camel(p["field"]) if p.get("field") else p.get("field")}
                           for p in out["problems"]]
    return out


def _with(error: GraphQLError, message: str, extensions: dict) -> GraphQLError:
    return GraphQLError(message, nodes=error.nodes, source=error.source, positions=error.positions,
                        path=error.path, original_error=None, extensions=extensions)


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None) if result is not None else None
        if result is None or not errors:
            return
        context = self.execution_context.context
        request_id = getattr(context, "request_id", "") if context is not None else ""
        result.errors = [classify(e, request_id) for e in errors]

"""Production mode's error rule: what a client learns from an error is its stable code and a
message about its own request, nothing about the server's insides or the schema it may not
introspect.

Introspection itself is refused by strawberry's ``DisableIntrospection`` (graphql-core's
``NoSchemaIntrospectionCustomRule``: ``__schema`` and ``__type`` only, so the gateway's
``_service { sdl }`` and ``__typename`` keep working). Unexpected errors are already masked as
INTERNAL by ``ErrorCodes``; this extension, which runs inside it, also drops validation's
"Did you mean ...?" suggestions (they would list the fields and types introspection hides) and
any error location that points into the server rather than the document.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
# keys a coded error may carry that describe the server rather than the request
_INTERNAL_KEYS = frozenset({"exception", "stacktrace", "traceback"})


def mask(error: GraphQLError) -> GraphQLError:
    extensions = {k: v for k, v in (error.extensions or {}).items() if k not in _INTERNAL_KEYS}
    extensions.setdefault("code", "INTERNAL")
    return GraphQLError(_SUGGESTION.sub("", error.message), nodes=error.nodes, source=error.source,
                        positions=error.positions, path=error.path, original_error=error.original_error,
                        extensions=extensions)


class ProductionErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None) if result is not None else None
        if result is not None and errors:
            result.errors = [mask(e) for e in errors]


__all__ = ["ProductionErrors", "mask"]

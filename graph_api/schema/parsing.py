"""Parsed documents cached by their text: clients send the same few documents again and again.

Parsing title-detail costs ~1 ms, and a freshly parsed document also makes ``ValidationCache``
hash the whole tree to find its entry; the cached document is the same object each time. Unlike
strawberry's ``ParserCache``, a document that does not parse is left to strawberry's own parse,
so its syntax error is reported (and classified by ``ErrorCodes``) exactly as before.
"""
from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension


@lru_cache(maxsize=512)
def _parsed(query: str, options: tuple[tuple[str, Any], ...]) -> DocumentNode:
    # an error is not cached by lru_cache: it is raised again, and the caller lets strawberry parse
    return parse(query, **dict(options))


class DocumentCache(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if isinstance(context.query, str) and context.graphql_document is None:
            try:
                context.graphql_document = _parsed(context.query, tuple(sorted(context.parse_options.items())))
            except (GraphQLError, TypeError):  # TypeError: an option value that cannot key the cache
                pass  # strawberry parses it below and reports the error its usual way
        yield

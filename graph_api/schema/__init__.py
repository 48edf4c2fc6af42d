"""The GraphQL schema: a Strawberry federation-2 subgraph over the lake and its lineage.

Modules, bottom up: scalars, enums, node, inputs -> context (the request's lake view, lineage,
loaders) -> pagination -> lineage_types (lineage reads) -> nodes (every object type) ->
the root fields: query, search, lineage_query, mutation, subscription.

The rule for ids: a lookup by id (node, title, asset, run) returns null for an id that does not
exist or that the caller may not see; a traversal or an operation that needs an existing root
(lineage, provenance, impact, impactGroups, staleAssets(root), recomputePlan(ids), and the
mutations that name existing ids) raises NOT_FOUND naming the id.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import DisableIntrospection, MaxTokensLimiter, ValidationCache
from strawberry.federation.schema import FederationAny
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, Info

from graph_api.errors import InvalidArgument
from graph_api.schema.errors import ErrorCodes
from graph_api.schema.execution import FastExecutionContext
from graph_api.schema.idempotency import Idempotency
from graph_api.schema.limits import Limits, QueryLimits
from graph_api.schema.lineage_query import LineageMutation, LineageQuery
from graph_api.schema.mutation import LakeMutation
from graph_api.schema.nodes import Annotation, Asset, Run, Segment, Title
from graph_api.schema.parsing import DocumentCache
from graph_api.schema.production import ProductionErrors
from graph_api.schema.query import LakeQuery
from graph_api.schema.reads import LakeReads
from graph_api.schema.scalars import LONG_DEFINITION, Long
from graph_api.schema.search import SearchQuery
from graph_api.schema.subscription import Subscription
from graph_api.settings import Settings

# every entity of this subgraph is keyed by id (@key(fields: "id"))
ENTITY_KEY_FIELDS = frozenset({"__typename", "id"})


@strawberry.type
class Query(LakeQuery, LineageQuery, SearchQuery):
    pass


@strawberry.type
class Mutation(LakeMutation, LineageMutation):
    pass


class MediaGraphSchema(strawberry.federation.Schema):
    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[FederationAny]:
        """``_entities``, refusing malformed representations as client input (INVALID_ARGUMENT naming
        each), where strawberry's resolver would fail inside and answer INTERNAL."""
        problems = [p for i, r in enumerate(representations) for p in self._representation_problems(i, r)]
        if problems:
            raise InvalidArgument(f"{len(problems)} malformed entity representation(s): {problems[0]['message']}",
                                  problems=problems)
        # strawberry pops __typename from what it is given: hand it copies
        return super().entities_resolver(info, [FederationAny(dict(r)) for r in representations])  # type: ignore[call-overload]  # each is a dict, checked above

    def _representation_problems(self, index: int, representation: Any) -> list[dict[str, Any]]:
        def problem(message: str) -> list[dict[str, Any]]:
            return [{"index": index, "field": "representations", "code": "INVALID_ARGUMENT", "message": message}]

        if not isinstance(representation, dict):
            return problem(f"representations[{index}] must be an object with __typename and id")
        type_name = representation.get("__typename")
        type_ = self.schema_converter.type_map.get(type_name) if isinstance(type_name, str) else None
        origin = getattr(getattr(type_, "definition", None), "origin", None)
        if origin is None or not hasattr(origin, "resolve_reference"):
            return problem(f"representations[{index}].__typename {type_name!r} is not an entity type of this subgraph")
        if not isinstance(representation.get("id"), str):
            return problem(f"representations[{index}] of {type_name} needs its key field id, a string")
        extra = sorted(set(representation) - ENTITY_KEY_FIELDS)
        if extra:
            return problem(f"representations[{index}] of {type_name} has fields beyond its key: {', '.join(extra)}")
        return []

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # ErrorCodes logs the unexpected ones with their request id; expected errors are not server faults
        return None


def build_schema(settings: Settings | None = None) -> strawberry.federation.Schema:
    """The schema with the abuse limits (and, in production, the production rules) of ``settings``."""
    settings = settings or Settings()
    limits = Limits.from_settings(settings)
    # extensions wrap in list order, the first outermost: ErrorCodes classifies what every later one reports,
    # and in production ProductionErrors masks what ErrorCodes classified
    extensions: list[Any] = [ProductionErrors, ErrorCodes, DisableIntrospection] if settings.production \
        else [ErrorCodes]
    extensions += [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: QueryLimits(limits),
        # after the limits: a refused operation claims no idempotency key
        Idempotency,
        LakeReads,
        # parsing the same documents again cost ~1 ms a request (DocumentCache leaves a document that does not
        # parse to strawberry, so ErrorCodes sees its error), validating them again ~8 ms
        DocumentCache,
        lambda: ValidationCache(maxsize=512),
    ]
    return MediaGraphSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Title, Asset, Segment, Annotation, Run],
        extensions=extensions,
        federation_version="2.7",
        config=StrawberryConfig(scalar_map={Long: LONG_DEFINITION}),
        # plain attribute fields answered without graphql-core's per-field machinery (same results)
        execution_context_class=FastExecutionContext,
    )


def schema_for(settings: Settings) -> strawberry.federation.Schema:
    """The schema a server with ``settings`` serves; one per distinct set of limits, built once."""
    return _schema_with(settings.max_depth, settings.max_aliases, settings.max_cost, settings.max_tokens,
                        settings.default_page_size, settings.max_page_size, settings.production)


@lru_cache(maxsize=8)
def _schema_with(max_depth: int, max_aliases: int, max_cost: int, max_tokens: int, default_page_size: int,
                 max_page_size: int, production: bool) -> strawberry.federation.Schema:
    return build_schema(Settings(max_depth=max_depth, max_aliases=max_aliases, max_cost=max_cost,
                                 max_tokens=max_tokens, default_page_size=default_page_size,
                                 max_page_size=max_page_size, production=production))


schema = schema_for(Settings())


def sdl() -> str:
    return schema.as_str() + "\n"

"""The GraphQL schema: a Strawberry federation-2 subgraph over the lake and its lineage.

Modules, bottom up: scalars, enums, node, inputs -> context (the request's lake view, lineage,
loaders) -> pagination -> lineage_types (lineage reads) -> nodes (every object type) ->
the root fields: query, search, lineage_query, mutation.

The rule for ids: a lookup by id (node, title, asset, run) returns null for an id that does not
exist or that the caller may not see; a traversal or an operation that needs an existing root
(lineage, provenance, impact, impactGroups, staleAssets(root), recomputePlan(ids), and the
mutations that name existing ids) raises NOT_FOUND naming the id.
"""
from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from graph_api.schema.errors import ErrorCodes
from graph_api.schema.lineage_query import LineageMutation, LineageQuery
from graph_api.schema.mutation import LakeMutation
from graph_api.schema.nodes import Annotation, Asset, Run, Segment, Title
from graph_api.schema.query import LakeQuery
from graph_api.schema.reads import LakeReads
from graph_api.schema.scalars import LONG_DEFINITION, Long
from graph_api.schema.search import SearchQuery


@strawberry.type
class Query(LakeQuery, LineageQuery, SearchQuery):
    pass


@strawberry.type
class Mutation(LakeMutation, LineageMutation):
    pass


class MediaGraphSchema(strawberry.federation.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        # ErrorCodes logs the unexpected ones with their request id; expected errors are not server faults
        return None


def build_schema() -> strawberry.federation.Schema:
    return MediaGraphSchema(
        query=Query,
        mutation=Mutation,
        types=[Title, Asset, Segment, Annotation, Run],
        # validating the same documents again cost ~8 ms of CPU a request (ParserCache is left out: a parse
        # error raised inside it would skip ErrorCodes, and parsing costs ~1 ms)
        extensions=[ErrorCodes, LakeReads, lambda: ValidationCache(maxsize=512)],
        federation_version="2.7",
        config=StrawberryConfig(scalar_map={Long: LONG_DEFINITION}),
    )


schema = build_schema()


def sdl() -> str:
    return schema.as_str() + "\n"

"""What one GraphQL operation may ask for: execution depth, aliases, and an estimated cost.

Parse depth and tokens bound what a document can *say*; this bounds what it makes the server
*do*. The cost is estimated from the document and the schema before anything runs:

- every field costs 1 for each parent object it is resolved on;
- a list field multiplies what is selected under it by its size: the ``first`` (or ``limit``)
  argument when the field has one, else the page size a connection returns by default, else
  ``list_size`` for plain lists whose length the schema does not bound;
- a connection's ``edges``/``nodes`` take the size of the connection field above them, while its
  ``totalCount`` and ``pageInfo`` are paid once.

So ``titles(first: 500) { edges { node { assets(first: 500) { edges { node { id } } } } } }``
costs about 500 x 500 = 250k and is refused, while a title with 50 assets and their annotations
costs a few thousand. Introspection (``__schema``, ``__type``) is bounded by the schema and is
neither counted nor limited. Fragments are expanded where they are spread.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from graph_api.settings import Settings

SIZE_ARGUMENTS = ("first", "limit")
CONNECTION_ITEMS = ("edges", "nodes")


@dataclass(frozen=True)
class Limits:
    # the defaults are the settings' (one source): a server builds its Limits with ``from_settings``
    max_depth: int = Settings.max_depth
    max_aliases: int = Settings.max_aliases
    max_cost: int = Settings.max_cost
    # what a connection returns when ``first`` is not given (the settings' default page size)
    default_page: int = Settings.default_page_size
    # assumed length of a list the schema does not bound (versions, inputs, jobs)
    list_size: int = 20
    # a larger ``first`` is refused by pagination itself, with its own clearer error: estimate it at this
    max_page: int = Settings.max_page_size

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(max_depth=settings.max_depth, max_aliases=settings.max_aliases, max_cost=settings.max_cost,
                   default_page=settings.default_page_size, max_page=settings.max_page_size)


@dataclass(frozen=True)
class Estimate:
    depth: int
    aliases: int
    cost: int

    def violation(self, limits: Limits) -> tuple[str, str] | None:
        """(code, message) of the first limit this operation exceeds, or None."""
        if self.depth > limits.max_depth:
            return "QUERY_TOO_DEEP", f"the operation is {self.depth} fields deep; at most {limits.max_depth} are allowed"
        if self.aliases > limits.max_aliases:
            return "TOO_MANY_ALIASES", f"the operation uses {self.aliases} aliases; at most {limits.max_aliases} are allowed"
        if self.cost > limits.max_cost:
            return ("QUERY_TOO_COSTLY", f"the operation's estimated cost is {self.cost}; at most {limits.max_cost} is "
                    "allowed: ask for smaller pages (first) or fewer nested lists")
        return None


def estimate(schema: GraphQLSchema, document: DocumentNode, *, operation_name: str | None = None,
             variables: Mapping[str, Any] | None = None, limits: Limits = Limits()) -> Estimate:
    """The depth, aliases and cost of the operation ``operation_name`` (or the only one) in ``document``."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1:
        return Estimate(0, 0, 0)  # graphql-core reports the missing or ambiguous operation itself
    operation = operations[0]
    root = schema.get_root_type(operation.operation)
    if root is None:
        return Estimate(0, 0, 0)
    walk = _Walk(schema, fragments, dict(variables or {}), limits)
    cost, depth = walk.selection(root, operation.selection_set, None, set())
    return Estimate(depth=depth, aliases=walk.aliases, cost=cost)


class _Walk:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode],
                 variables: dict[str, Any], limits: Limits) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.limits = limits
        self.aliases = 0
        self.memo: dict[tuple[str, str, int | None], tuple[int, int]] = {}

    def selection(self, parent: GraphQLNamedType, selection_set: SelectionSetNode | None, item_size: int | None,
                  spreading: set[str]) -> tuple[int, int]:
        """(cost, depth) of a selection set on one object of ``parent``; ``item_size`` is the size of the
        connection this selection belongs to, for its ``edges``/``nodes``."""
        if selection_set is None:
            return 0, 0
        cost = depth = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                c, d = self.field(parent, node, item_size, spreading)
            elif isinstance(node, InlineFragmentNode):
                on = self.schema.get_type(node.type_condition.name.value) if node.type_condition else parent
                c, d = self.selection(on or parent, node.selection_set, item_size, spreading)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in spreading:
                    continue  # unknown or cyclic: validation refuses the document
                on = self.schema.get_type(fragment.type_condition.name.value) or parent
                # memoised: fragments spreading fragments twice over would otherwise cost 2^n to walk
                key = (name, on.name, item_size)
                if key not in self.memo:
                    self.memo[key] = self.selection(on, fragment.selection_set, item_size, spreading | {name})
                c, d = self.memo[key]
            else:
                continue
            cost += c
            depth = max(depth, d)
        return cost, depth

    def field(self, parent: GraphQLNamedType, node: FieldNode, item_size: int | None, spreading: set[str]) -> tuple[int, int]:
        name = node.name.value
        if name.startswith("__"):
            return 0, 0  # introspection and __typename
        if node.alias is not None:
            self.aliases += 1
        definition = _field_of(parent, name)
        if definition is None:
            return 0, 0  # validation reports unknown fields
        named, is_list = _unwrap(definition.type)
        requested = self._size_argument(node)
        size = 1
        if is_list:
            if name in CONNECTION_ITEMS and item_size is not None:
                size = item_size  # a connection's edges/nodes: as many as the field above asked for
            else:
                size = requested if requested is not None else self.limits.list_size
        # a connection (or a graph bounded by ``limit``) hands its size down to its edges/nodes
        child_item_size: int | None = None
        if not is_list and (named.name.endswith("Connection") or _takes_size(definition)):
            child_item_size = requested if requested is not None else self.limits.default_page
        if not isinstance(named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)):
            return 1, 1
        below, depth = self.selection(named, node.selection_set, child_item_size, spreading)
        return 1 + size * below, depth + 1

    def _size_argument(self, node: FieldNode) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value not in SIZE_ARGUMENTS:
                continue
            value = argument.value
            size: int | None = None
            if isinstance(value, IntValueNode):
                size = max(0, int(value.value))
            elif isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                size = max(0, given) if isinstance(given, int) and not isinstance(given, bool) else None
            if size is not None and argument.name.value == "first":
                size = min(size, self.limits.max_page)
            return size
        return None


def _field_of(parent: GraphQLNamedType, name: str) -> GraphQLField | None:
    if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
        return parent.fields.get(name)
    return None  # a union has no fields but __typename; fragments on its members carry the rest


def _takes_size(definition: GraphQLField) -> bool:
    return any(name in definition.args for name in SIZE_ARGUMENTS)


def _unwrap(type_: Any) -> tuple[GraphQLNamedType, bool]:
    is_list = False
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        is_list = is_list or isinstance(type_, GraphQLList)
        type_ = type_.of_type
    return type_, is_list


class QueryLimits(SchemaExtension):
    """Refuses an operation over the limits before it runs (one error with a stable code, no data),
    and reports the estimate of every operation in ``extensions.cost``."""

    def __init__(self, limits: Limits, *, execution_context: Any = None) -> None:
        self.limits = limits
        self.estimate: Estimate | None = None
        if execution_context is not None:
            self.execution_context = execution_context

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            self.estimate = estimate(context.schema._schema, document, operation_name=context.operation_name,
                                     variables=context.variables, limits=self.limits)
            violation = self.estimate.violation(self.limits)
            if violation is not None:
                code, message = violation
                context.result = GraphQLExecutionResult(data=None, errors=[GraphQLError(
                    message, extensions={"code": code, "cost": self.estimate.cost, "depth": self.estimate.depth,
                                         "aliases": self.estimate.aliases})])
        yield

    def get_results(self) -> dict[str, Any]:
        if self.estimate is None:
            return {}
        return {"cost": {"estimated": self.estimate.cost, "maximum": self.limits.max_cost,
                         "depth": self.estimate.depth}}


__all__ = ["Estimate", "Limits", "QueryLimits", "estimate"]

"""The executor the schema runs operations with: graphql-core's, with a cheaper path for plain fields
and for variables.

graphql-core spends ~5 µs on every field value: a ``Path``, a ``GraphQLResolveInfo``, strawberry's
resolver wrapper, the ``is_awaitable`` checks and the recursive ``complete_value``. Most of a read's
fields need none of it: a strawberry attribute (no resolver, no arguments, no field extensions, so
no permission classes) holding a scalar or enum, or a list of them, or one object (an edge's
``node``). For those this executor reads the attribute the way strawberry's default resolver does
and serializes it directly (an object: executes its sub-selection at once), and builds the ``Path``
and info only when something goes wrong or the object type has an ``is_type_of`` check.

The result is the default executor's, byte for byte: anything it is not sure about takes the normal
path, and a value the fast path does not accept as plainly valid (None in a non-null field, a value
its scalar refuses, an awaitable, an exception object, something not a list where a list is
expected) is completed again by graphql-core's own ``complete_value``, which raises the same error
at the same path. ``__typename`` is answered the same way (it is the parent type's name).

Field-level middleware (a strawberry extension implementing ``resolve``) or directives on a field
send every such field through the normal path, so they still see each one.

Variables are coerced by ``graph_api.schema.variables`` (the same values and errors as graphql-core's
``get_variable_values``), which is why ``build`` is graphql-core 3.3's, copied: it calls that
function by its module's name. tests/schema/test_execution.py checks the copy against the installed
graphql-core's parameters.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    MiddlewareManager,
    OperationDefinitionNode,
    TypeNameMetaFieldDef,
    Undefined,
    assert_valid_schema,
)
from graphql.execution.collect_fields import FieldDetailsList, FragmentDetails, GroupedFieldSet
from graphql.execution.executor import default_field_resolver, default_type_resolver
from graphql.execution.get_variable_signature import GraphQLVariableSignature, get_variable_signature
from graphql.pyutils import Path, gather_with_cancel
from graphql.pyutils import inspect as graphql_inspect
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from graph_api.schema.variables import variable_values

# what a completer returns when it will not vouch for a value: graphql-core completes it instead
_SLOW: Any = object()

# values of these types are never awaitable, never exceptions: the checks for those can be skipped
_PLAIN_TYPES = frozenset({str, int, float, bool})

# grouped field sets whose plans one operation keeps (a query has a few dozen; a subscription more)
MAX_PLANS = 1024

Completer = Callable[[Any], Any]
Reader = Callable[[Any, str], Any]


class PlainField:
    """How to answer one plain field: read ``name`` from the source with ``read``, then ``complete`` it,
    or (a field of an object type: ``object_type``) execute its sub-selection on it."""

    __slots__ = ("complete", "field_def", "name", "object_type", "read")

    def __init__(self, field_def: GraphQLField, read: Reader, name: str, complete: Completer | None,
                 object_type: GraphQLObjectType | None = None) -> None:
        self.field_def = field_def
        self.read = read
        self.name = name
        self.complete = complete
        self.object_type = object_type


def _leaf(type_: GraphQLScalarType | GraphQLEnumType, non_null: bool) -> Completer:
    coerce = type_.coerce_output_value

    def complete(value: Any) -> Any:
        if value is None:
            return _SLOW if non_null else None
        if type(value) not in _PLAIN_TYPES and (
                isinstance(value, Exception) or value is Undefined or optimized_is_awaitable(value)):
            return _SLOW
        try:
            coerced = coerce(value)
        except Exception:
            return _SLOW  # graphql-core coerces again and reports the error where it belongs
        if coerced is None or coerced is Undefined:
            return _SLOW
        return coerced

    return complete


def _list(item: Completer, non_null: bool) -> Completer:
    def complete(value: Any) -> Any:
        if value is None:
            return _SLOW if non_null else None
        # a list or tuple is what graphql-core iterates the same way; anything else it judges itself
        if type(value) is not list and type(value) is not tuple:
            return _SLOW
        completed = []
        for element in value:
            done = item(element)
            if done is _SLOW:
                return _SLOW
            completed.append(done)
        return completed

    return complete


def completer_for(type_: GraphQLOutputType) -> Completer | None:
    """A completer for a scalar or enum type, or a (nested) list of them; None for any other type."""
    non_null = isinstance(type_, GraphQLNonNull)
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, (GraphQLScalarType, GraphQLEnumType)):
        return _leaf(inner, non_null)
    if isinstance(inner, GraphQLList):
        item = completer_for(inner.of_type)
        return None if item is None else _list(item, non_null)
    return None


def _type_name(source: Any, name: str) -> str:
    return name


def _is_default_attribute(field_def: GraphQLField) -> StrawberryField | None:
    """The strawberry field behind ``field_def`` when its resolver is strawberry's basic one: an
    attribute read with no resolver, field extensions, permission classes or exception handlers."""
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolve = field_def.resolve
    if not isinstance(definition, StrawberryField) or not definition.is_basic_field or resolve is None:
        return None
    # strawberry's resolver for a basic field (``_get_basic_result``) calls
    # ``definition.get_result(source, None, [], {})``, i.e. ``default_resolver(source, python_name)``
    if not getattr(resolve, "_is_default", False) or not resolve.__qualname__.endswith("._get_basic_result"):
        return None
    return definition


def plain_field(parent_type: GraphQLObjectType, field_def: GraphQLField | None,
                field_details_list: FieldDetailsList) -> PlainField | None:
    """How to answer this field on the fast path, or None when it must take the normal one."""
    if field_def is None or field_def.args:
        return None
    if any(details.node.directives for details in field_details_list):
        return None
    complete = completer_for(field_def.type)
    object_type = None
    if complete is None:
        # an attribute holding one object (an edge's ``node``, a page's ``pageInfo``): read it here, and
        # execute its sub-selection as graphql-core's ``complete_value`` would (lists keep its path)
        inner = field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
        if not isinstance(inner, GraphQLObjectType):
            return None
        object_type = inner
    if field_def is TypeNameMetaFieldDef:
        return PlainField(field_def, _type_name, parent_type.name, complete)
    definition = _is_default_attribute(field_def)
    if definition is None:
        return None
    return PlainField(field_def, definition.default_resolver, definition.python_name, complete, object_type)


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, answering plain fields without a resolve info each, and
    coercing variables with compiled coercers (``graph_api.schema.variables``)."""

    @classmethod
    def build(  # graphql-core's parameters, in its order, with plainer types
            cls, schema: GraphQLSchema, document: DocumentNode, root_value: Any = None, context_value: Any = None,
            raw_variable_values: dict[str, Any] | None = None, operation_name: str | None = None,
            field_resolver: Any = None, type_resolver: Any = None, subscribe_field_resolver: Any = None,
            max_coercion_errors: int = 50, enable_early_execution: bool = False, middleware: Any = None,
            is_awaitable: Any = None, is_async_iterable: Any = None, hide_suggestions: bool = False,
            abort_signal: Any = None, hooks: Any = None, **custom_args: Any) -> list[GraphQLError] | FastExecutionContext:
        # graphql-core 3.3's ``Executor.build``, step for step, but for the variables
        assert_valid_schema(schema)

        operation: OperationDefinitionNode | None = None
        fragment_definitions: dict[str, FragmentDefinitionNode] = {}
        fragments: dict[str, FragmentDetails] = {}
        fragment_variable_signature_errors: list[GraphQLError] = []
        middleware_manager: MiddlewareManager | None = None
        if middleware is not None:
            if isinstance(middleware, (list, tuple)):
                middleware_manager = MiddlewareManager(*middleware)
            elif isinstance(middleware, MiddlewareManager):
                middleware_manager = middleware
            else:
                msg = ("Middleware must be passed as a list or tuple of functions"
                       " or objects, or as a single MiddlewareManager object."
                       f" Got {graphql_inspect(middleware)} instead.")
                raise TypeError(msg)

        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                if operation_name is None:
                    if operation:
                        return [GraphQLError("Must provide operation name if query contains multiple operations.")]
                    operation = definition
                elif definition.name and definition.name.value == operation_name:
                    operation = definition
            elif isinstance(definition, FragmentDefinitionNode):
                fragment_definitions[definition.name.value] = definition
                variable_signatures: dict[str, GraphQLVariableSignature] | None = None
                if definition.variable_definitions:
                    variable_signatures = {}
                    for var_def in definition.variable_definitions:
                        signature = get_variable_signature(schema, var_def)
                        if isinstance(signature, GraphQLError):
                            fragment_variable_signature_errors.append(signature)
                            continue
                        variable_signatures[signature.name] = signature
                fragments[definition.name.value] = FragmentDetails(definition, variable_signatures)

        if not operation:
            if operation_name is not None:
                return [GraphQLError(f"Unknown operation named '{operation_name}'.")]
            return [GraphQLError("Must provide an operation.")]

        if fragment_variable_signature_errors:
            return fragment_variable_signature_errors

        variables = variable_values(schema, operation.variable_definitions or (), raw_variable_values or {},
                                    max_errors=max_coercion_errors, hide_suggestions=hide_suggestions)
        if isinstance(variables, list):
            return variables  # errors

        return cls(schema, fragment_definitions, fragments, root_value, context_value, operation, variables,
                   field_resolver or default_field_resolver, type_resolver or default_type_resolver,
                   subscribe_field_resolver or default_field_resolver, enable_early_execution, middleware_manager,
                   is_awaitable, is_async_iterable, hide_suggestions=hide_suggestions, abort_signal=abort_signal,
                   hooks=hooks, **custom_args)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        manager = self.middleware_manager
        # a strawberry extension with a ``resolve`` hook must see every field: no fast path then
        self._fast = manager is None or not manager.middlewares
        # per grouped field set (one per selection set and parent type, memoised by graphql-core, so one
        # for all the objects of a list): its fields and how to answer each. The set is kept alive beside
        # its plan so its id cannot be reused during the operation.
        self._plans: dict[int, tuple[GroupedFieldSet, GraphQLObjectType,
                                     list[tuple[str, FieldDetailsList, PlainField | None]]]] = {}

    def _plan(self, parent_type: GraphQLObjectType,
              grouped_field_set: GroupedFieldSet) -> list[tuple[str, FieldDetailsList, PlainField | None]]:
        cached = self._plans.get(id(grouped_field_set))
        if cached is not None and cached[0] is grouped_field_set and cached[1] is parent_type:
            return cached[2]
        if len(self._plans) >= MAX_PLANS:
            # a long subscription collects new field sets for every event: keep the memo bounded
            self._plans.clear()
        get_field = self.schema.get_field
        plan = [(response_name, details,
                 plain_field(parent_type, get_field(parent_type, details[0].node.name.value), details)
                 if self._fast else None)
                for response_name, details in grouped_field_set.items()]
        self._plans[id(grouped_field_set)] = (grouped_field_set, parent_type, plan)
        return plan

    def execute_fields(
            self, parent_type: GraphQLObjectType, source_value: Any, path: Path | None,
            grouped_field_set: GroupedFieldSet, position_context: Any) -> Any:
        # graphql-core's ``execute_fields``, with plain fields answered in the loop
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        append_awaitable = awaitable_fields.append
        try:
            for response_name, field_details_list, plain in self._plan(parent_type, grouped_field_set):
                if plain is None:
                    result = self.execute_field(parent_type, source_value, field_details_list,
                                                Path(path, response_name, parent_type.name), position_context)
                else:
                    result = self._execute_plain(plain, parent_type, source_value, field_details_list, path,
                                                 response_name, position_context)
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        append_awaitable(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise

        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited_results = await gather_with_cancel(*(results[field] for field in awaitable_fields))
                results.update(zip(awaitable_fields, awaited_results, strict=True))
            return results

        return get_results()

    def _execute_plain(self, plain: PlainField, parent_type: GraphQLObjectType, source: Any,
                       field_details_list: FieldDetailsList, parent_path: Path | None, response_name: str,
                       position_context: Any) -> Any:
        try:
            value = plain.read(source, plain.name)
        except Exception as raw_error:
            self.handle_field_error(raw_error, plain.field_def.type, field_details_list,
                                    Path(parent_path, response_name, parent_type.name))
            return None
        if plain.complete is None:
            return self._execute_object(plain, parent_type, field_details_list,
                                        Path(parent_path, response_name, parent_type.name), value, position_context)
        completed = plain.complete(value)
        if completed is not _SLOW:
            return completed
        return self._complete_normally(plain.field_def, parent_type, field_details_list,
                                       Path(parent_path, response_name, parent_type.name), value, position_context)

    def _execute_object(self, plain: PlainField, parent_type: GraphQLObjectType, field_details_list: FieldDetailsList,
                        path: Path, value: Any, position_context: Any) -> Any:
        # graphql-core's ``complete_value`` of an object value: its ``is_type_of`` check (with a resolve info,
        # built only for types that have one), then the sub-selection. Anything else (None, an error, an
        # awaitable) is completed by graphql-core itself, which raises the same errors at the same path.
        return_type = plain.object_type
        if return_type is None or value is None or value is Undefined or isinstance(value, Exception) or \
                self.is_awaitable(value):
            return self._complete_normally(plain.field_def, parent_type, field_details_list, path, value,
                                           position_context)
        try:
            if return_type.is_type_of is not None:
                info = self.build_resolve_info(plain.field_def, [d.node for d in field_details_list], parent_type,
                                               path)
                completed = self.complete_object_value(return_type, field_details_list, info, path, value,
                                                       position_context)
            else:
                completed = self.collect_and_execute_subfields(return_type, field_details_list, path, value,
                                                               position_context)
            if self.is_awaitable(completed):
                return self._await_completed(completed, plain.field_def.type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, plain.field_def.type, field_details_list, path)
            return None
        return completed

    def _complete_normally(self, field_def: GraphQLField, parent_type: GraphQLObjectType,
                           field_details_list: FieldDetailsList, path: Path, result: Any,
                           position_context: Any) -> Any:
        # the part of graphql-core's ``execute_field`` after the resolver returned ``result``
        return_type = field_def.type
        info = self.build_resolve_info(field_def, [d.node for d in field_details_list], parent_type, path)
        try:
            if self.is_awaitable(result):
                return self.complete_awaitable_value(return_type, field_details_list, info, path, result,
                                                     position_context)
            completed = self.complete_value(return_type, field_details_list, info, path, result, position_context)
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    async def _await_completed(self, completed: Awaitable[Any], return_type: GraphQLOutputType,
                               field_details_list: FieldDetailsList, path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None


__all__ = ["FastExecutionContext", "PlainField", "completer_for", "plain_field"]

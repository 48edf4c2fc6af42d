"""Operation variables coerced by coercers compiled once per input type, for big inputs.

graphql-core coerces a variable by walking its value and its type together, asking at every value
whether the type is non-null, a list, an input object or a leaf (``coerce_input_value``), after a
first walk that checks the value is not nested deeper than the interpreter allows
(``input_is_nested_too_deeply``). For ``registerAssets`` of 1,000 assets that is ~15,000 values
walked twice. Here each input type gets a closure that does the same steps in the same order with
the type questions answered once, when it is compiled.

Only what is sure to succeed is answered here: a variable whose input type refers to itself (so
that its nesting is not bounded by the type), a variable not given that has a default or is
required, a signature error, or any value that does not coerce sends the whole operation to
graphql-core's ``get_variable_values``,
which coerces everything again and reports the same errors it always does. When the types do not
nest deeper than graphql-core's limit, its depth walk can only answer "not too deep", so it is
skipped.
"""
from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any
from weakref import WeakKeyDictionary

from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    Undefined,
    VariableDefinitionNode,
)
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.execution.values import VariableValues, VariableValueSource, get_variable_values
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.pyutils import is_iterable
from graphql.type.definition import is_required_input_field
from graphql.utilities.coerce_input_value import coerce_default_value

Coercer = Callable[[Any], Any]  # the coerced value, or Undefined when it does not coerce

# named input types -> (coercer, how deep a value of it can nest; None when the type refers to itself)
_compiled: WeakKeyDictionary[Any, tuple[Coercer, int | None]] = WeakKeyDictionary()


def _leaf(type_: GraphQLScalarType | GraphQLEnumType) -> Coercer:
    coerce = type_.coerce_input_value

    def coerced(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        try:
            return coerce(value)
        except Exception:  # as graphql-core: a value the leaf refuses does not coerce
            return Undefined

    return coerced


def _non_null(inner: Coercer) -> Coercer:
    def coerced(value: Any) -> Any:
        if value is None or value is Undefined:
            return Undefined
        return inner(value)

    return coerced


def _list(item: Coercer) -> Coercer:
    def coerced(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if not is_iterable(value):
            one = item(value)  # a non-list value is a list of one
            return Undefined if one is Undefined else [one]
        out: list[Any] = []
        append = out.append
        for element in value:
            done = item(element)
            if done is Undefined:
                return Undefined
            append(done)
        return out

    return coerced


def _input_object(type_: GraphQLInputObjectType, compiling: set[GraphQLInputObjectType]) -> tuple[Coercer, int | None]:
    compiling = compiling | {type_}
    fields = type_.fields
    entries = []
    depth: int | None = 0
    for name, field in fields.items():
        coerce, field_depth = _compile(field.type, compiling)
        entries.append((name, field.out_name or name, coerce, is_required_input_field(field), field))
        depth = None if depth is None or field_depth is None else max(depth, field_depth + 1)
    out_type = type_.out_type
    is_one_of = type_.is_one_of

    def coerced(value: Any) -> Any:
        if value is None or value is Undefined:
            return None
        if not isinstance(value, dict):
            return Undefined
        defined = 0
        for name, given in value.items():
            if given is Undefined:
                continue
            defined += 1
            if name not in fields:
                return Undefined
        out: dict[str, Any] = {}
        for name, out_name, coerce, required, field in entries:
            given = value.get(name, Undefined)
            if given is Undefined:
                if required:
                    return Undefined
                default = coerce_default_value(field)
                if default is not Undefined:
                    out[out_name] = default
            else:
                done = coerce(given)
                if done is Undefined:
                    return Undefined
                out[out_name] = done
        if is_one_of:
            keys = list(out)
            if defined != 1 or len(keys) != 1 or out[keys[0]] is None:
                return Undefined
        return out_type(out)

    return coerced, depth


def _unbounded(value: Any) -> Any:
    return Undefined  # never used: a self-referring type's variables go to graphql-core


def _compile(type_: GraphQLInputType, compiling: set[GraphQLInputObjectType]) -> tuple[Coercer, int | None]:
    """(coercer, nesting depth) of ``type_``; the depth counts list items and input-object fields, as
    graphql-core's depth walk does, and is None when the type refers to itself."""
    if isinstance(type_, GraphQLNonNull):
        inner, depth = _compile(type_.of_type, compiling)
        return _non_null(inner), depth
    if isinstance(type_, GraphQLList):
        item, depth = _compile(type_.of_type, compiling)
        return _list(item), None if depth is None else depth + 1
    if isinstance(type_, (GraphQLScalarType, GraphQLEnumType)):
        cached = _compiled.get(type_)
        if cached is None:
            cached = _compiled[type_] = (_leaf(type_), 0)
        return cached
    assert isinstance(type_, GraphQLInputObjectType), type_
    if type_ in compiling:
        return _unbounded, None
    cached = _compiled.get(type_)
    if cached is None:
        cached = _input_object(type_, compiling)
        if cached[1] is not None:  # a self-referring type is never used on the fast path: no need to keep it
            _compiled[type_] = cached
    return cached


def coercer_for(type_: GraphQLInputType) -> Coercer | None:
    """A compiled coercer for variables of ``type_``, or None when graphql-core must coerce them."""
    coerce, depth = _compile(type_, set())
    return coerce if depth is not None and depth <= MAX_NESTING_DEPTH else None


def variable_values(schema: GraphQLSchema, var_def_nodes: Collection[VariableDefinitionNode],
                    inputs: dict[str, Any], max_errors: int | None = None,
                    hide_suggestions: bool = False) -> list[GraphQLError] | VariableValues:
    """graphql-core's ``get_variable_values``: the same answer, cheaper when every variable coerces."""
    sources: dict[str, VariableValueSource] = {}
    coerced: dict[str, Any] = {}
    for var_def_node in var_def_nodes:
        signature = get_variable_signature(schema, var_def_node)
        if isinstance(signature, GraphQLError):
            return get_variable_values(schema, var_def_nodes, inputs, max_errors, hide_suggestions)
        value = inputs.get(signature.name, Undefined)
        if value is Undefined:
            if var_def_node.default_value or isinstance(signature.type, GraphQLNonNull):
                # a default to coerce, or a missing required variable: graphql-core's business
                return get_variable_values(schema, var_def_nodes, inputs, max_errors, hide_suggestions)
            sources[signature.name] = VariableValueSource(signature)  # omitted, as graphql-core omits it
            continue
        coerce = coercer_for(signature.type)
        done = Undefined if coerce is None else coerce(value)
        if done is Undefined:
            return get_variable_values(schema, var_def_nodes, inputs, max_errors, hide_suggestions)
        sources[signature.name] = VariableValueSource(signature, value)
        coerced[signature.name] = done
    return VariableValues(sources, coerced)


__all__ = ["coercer_for", "variable_values"]

"""Does a GraphQL response fit the schema and the document it answers? What a typed client relies on:
the body is a JSON object of ``data``/``errors``/``extensions``; every error carries a message and a string
``extensions.code`` (and is not the masked INTERNAL, the in-band form of a 500); ``data`` holds exactly the
requested keys, no null where the schema says non-null, and scalars and enums of the declared types."""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    is_abstract_type,
    parse,
    validate,
)

INT32 = 2**31
INT64 = 2**63


def _is_int(v: Any, bound: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and -bound <= v < bound


def _is_datetime(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    try:
        datetime.fromisoformat(v)
    except ValueError:
        return False
    return True


# by scalar name; a custom scalar not listed (JSON, _Any) may hold any JSON value
SCALARS: dict[str, Callable[[Any], bool]] = {
    "Int": lambda v: _is_int(v, INT32),
    "Float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
    "String": lambda v: isinstance(v, str),
    "Boolean": lambda v: isinstance(v, bool),
    "ID": lambda v: isinstance(v, str),  # graphql-core, like graphql-js, serializes every ID as a string
    "Long": lambda v: _is_int(v, INT64),
    "DateTime": _is_datetime,
}


def parse_body(text: str) -> Any:
    """JSON as the spec reads it: Python's NaN/Infinity extensions are not JSON and a client would choke."""
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def problems(schema: GraphQLSchema, query: str, payload: Any) -> list[str]:
    """Every way ``payload`` breaks the GraphQL response format for ``query``; empty when it fits."""
    if not isinstance(payload, dict):
        return [f"the body is a {type(payload).__name__}, not a JSON object"]
    found: list[str] = []
    if extra := sorted(set(payload) - {"data", "errors", "extensions"}):
        found.append(f"unexpected top-level keys {extra}")
    if "data" not in payload and "errors" not in payload:
        found.append("neither data nor errors")
    errors = payload.get("errors")
    if errors is not None:
        if not isinstance(errors, list) or not errors:
            found.append(f"errors is {errors!r}, not a non-empty list")
        else:
            for i, error in enumerate(errors):
                found.extend(f"errors[{i}]: {p}" for p in _error_problems(error))
    if "extensions" in payload and not isinstance(payload["extensions"], dict):
        found.append("extensions is not an object")
    data = payload.get("data")
    if "data" in payload and data is None and not errors:
        found.append("data is null without an error saying why")
    if data is not None:
        found.extend(_data_problems(schema, query, data))
    return found


def _error_problems(error: Any) -> list[str]:
    if not isinstance(error, dict):
        return ["not an object"]
    found = []
    if not isinstance(error.get("message"), str):
        found.append("no message")
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    if not isinstance(code, str) or not code:
        found.append(f"no extensions.code: {error}")
    elif code == "INTERNAL":
        found.append(f"INTERNAL (an unexpected exception in the server): {error}")
    path = error.get("path")
    if path is not None and not (isinstance(path, list) and all(isinstance(p, (str, int)) for p in path)):
        found.append(f"path {path!r} is not a list of keys and indexes")
    locations = error.get("locations")
    if locations is not None and not (isinstance(locations, list) and all(
            isinstance(loc, dict) and _is_int(loc.get("line"), INT32) and _is_int(loc.get("column"), INT32)
            for loc in locations)):
        found.append(f"locations {locations!r} are not line/column pairs")
    return found


def _data_problems(schema: GraphQLSchema, query: str, data: Any) -> list[str]:
    try:
        document = parse(query)
    except GraphQLSyntaxError:
        return ["data for a document that does not parse"]
    if invalid := validate(schema, document):
        return [f"data for a document that does not validate: {invalid[0].message}"]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        return []  # the fuzzer sends one operation; a multi-operation document needs operationName
    root = schema.get_root_type(operations[0].operation)
    assert root is not None  # the document validated against the schema
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return _Walk(schema, fragments).object(root, [operations[0].selection_set], data, "data")


class _Walk:
    """Walks a result and the selections that asked for it side by side (the spec's CollectFields)."""

    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.schema = schema
        self.fragments = fragments

    def object(self, type_: GraphQLObjectType, selections: Sequence[SelectionSetNode], value: Any,
               path: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{path}: {_show(value)} where a {type_.name} object belongs"]
        fields, required = self._collect(type_, selections)
        found = []
        if missing := sorted(k for k in required if k not in value):
            found.append(f"{path}: {type_.name} without the requested {missing}")
        if extra := [k for k in value if k not in fields]:
            found.append(f"{path}: {type_.name} with keys nobody asked for {extra}")
        for key, nodes in fields.items():
            if key not in value:
                continue
            name = nodes[0].name.value
            if name == "__typename":
                if value[key] != type_.name:
                    found.append(f"{path}.{key}: {_show(value[key])} is not {type_.name}")
                continue
            field = type_.fields.get(name)
            if field is None:
                found.append(f"{path}.{key}: {type_.name} has no field {name}")
                continue
            below = [n.selection_set for n in nodes if n.selection_set is not None]
            found.extend(self.value(field.type, below, value[key], f"{path}.{key}"))
        return found

    def value(self, type_: GraphQLOutputType, selections: list[SelectionSetNode], value: Any,
              path: str) -> list[str]:
        if isinstance(type_, GraphQLNonNull):
            if value is None:
                return [f"{path}: null where the schema says {type_} (non-null)"]
            return self.value(type_.of_type, selections, value, path)
        if value is None:
            return []
        if isinstance(type_, GraphQLList):
            if not isinstance(value, list):
                return [f"{path}: {_show(value)} where a list {type_} belongs"]
            return [p for i, item in enumerate(value)
                    for p in self.value(type_.of_type, selections, item, f"{path}[{i}]")]
        if isinstance(type_, GraphQLScalarType):
            check = SCALARS.get(type_.name)
            return [] if check is None or check(value) else [f"{path}: {_show(value)} is not a {type_.name}"]
        if isinstance(type_, GraphQLEnumType):
            return [] if value in type_.values else [f"{path}: {_show(value)} is not a {type_.name} value"]
        if isinstance(type_, GraphQLObjectType):
            return self.object(type_, selections, value, path)
        if is_abstract_type(type_):
            return self._abstract(type_, selections, value, path)
        return [f"{path}: unexpected output type {type_}"]

    def _abstract(self, type_: GraphQLAbstractType, selections: list[SelectionSetNode], value: Any,
                  path: str) -> list[str]:
        """Without __typename the concrete type is unknown: the value fits if it fits one possible type."""
        candidates = list(self.schema.get_possible_types(type_))
        if isinstance(value, dict) and isinstance(value.get("__typename"), str):
            named = [t for t in candidates if t.name == value["__typename"]]
            if not named:
                return [f"{path}: __typename {value['__typename']!r} is not a possible {type_.name}"]
            candidates = named
        attempts = [self.object(t, selections, value, path) for t in candidates]
        if any(not a for a in attempts):
            return []
        return [f"{path}: fits no possible type of {type_.name}: {attempts[0]}"]

    def _collect(self, type_: GraphQLObjectType, selections: Sequence[SelectionSetNode]
                 ) -> tuple[dict[str, list[FieldNode]], set[str]]:
        """The response keys the selections ask of an object of ``type_``, and those not under @skip/@include."""
        fields: dict[str, list[FieldNode]] = {}
        required: set[str] = set()
        for selection_set in selections:
            for selection in selection_set.selections:
                conditional = any(d.name.value in ("skip", "include") for d in selection.directives or ())
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    fields.setdefault(key, []).append(selection)
                    if not conditional:
                        required.add(key)
                    continue
                if isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition.name.value if selection.type_condition else None
                    inner: SelectionSetNode = selection.selection_set
                else:
                    assert isinstance(selection, FragmentSpreadNode)
                    fragment = self.fragments[selection.name.value]
                    condition, inner = fragment.type_condition.name.value, fragment.selection_set
                if condition is not None and not self._applies(condition, type_):
                    continue
                sub_fields, sub_required = self._collect(type_, [inner])
                for key, nodes in sub_fields.items():
                    fields.setdefault(key, []).extend(nodes)
                if not conditional:
                    required |= sub_required
        return fields, required

    def _applies(self, condition: str, type_: GraphQLObjectType) -> bool:
        if condition == type_.name:
            return True
        named = self.schema.get_type(condition)
        return is_abstract_type(named) and self.schema.is_sub_type(named, type_)


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."

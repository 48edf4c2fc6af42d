"""``idempotencyKey`` on every mutation: a retried request with the same key gets the first response and
writes nothing; the same key with a different request is refused with IDEMPOTENCY_KEY_REUSED.

Keys are per principal (a token, a JWT subject, ``local``) and name the whole request: its document,
operation and variables, hashed. The key is an argument of each mutation field (``recordRun`` has it in
its ``RunInput``, where lineage also keeps it) or the request's ``Idempotency-Key`` header; a request whose
mutations (or header) give different keys is refused. A query ignores the header.
This extension answers a retry before any resolver runs; the claim and the stored response live in the
lake (``graph_api.lake.idempotency``, which says what a crash leaves).
"""
from __future__ import annotations

import hashlib
import json
import logging
import weakref
from collections.abc import AsyncIterator
from typing import Annotated, Any

import strawberry
from graphql import (
    DocumentNode,
    FieldNode,
    InlineFragmentNode,
    ObjectValueNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_operation_ast,
    print_ast,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from graph_api.lake.connection import Connection
from graph_api.lake.idempotency import MAX_KEY_LENGTH, Claim, IdempotencyError, IdempotencyKeys
from graph_api.threads import run_sync

log = logging.getLogger(__name__)

ARGUMENT = "idempotencyKey"
IdempotencyKey = Annotated[str | None, strawberry.argument(
    name=ARGUMENT, description="a retry with the same key returns the first result and writes nothing")]

_stores: weakref.WeakKeyDictionary[Connection, IdempotencyKeys] = weakref.WeakKeyDictionary()


def _store(connection: Connection, stale_after_seconds: float) -> IdempotencyKeys:
    store = _stores.get(connection)
    if store is None:
        store = _stores[connection] = IdempotencyKeys(connection, stale_after_seconds=stale_after_seconds)
    return store


def request_keys(document: DocumentNode, operation_name: str | None,
                 variables: dict[str, Any] | None) -> set[str]:
    """The idempotency keys the mutation fields of this operation give (none for a query).

    Read from the document and the raw variables, not coerced ones: coercing a 10k-row batch twice costs
    more than the key is worth, and execution refuses a key of the wrong type anyway."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation != OperationType.MUTATION:
        return set()
    keys: set[str] = set()
    for node in _root_fields(operation.selection_set):
        for argument in node.arguments or ():
            if argument.name.value == ARGUMENT:
                key = _value(argument.value, variables or {})
            elif argument.name.value == "input":
                # recordRun's RunInput carries its key, which lineage keeps with the run
                key = _input_key(argument.value, variables or {})
            else:
                continue
            if isinstance(key, str):
                keys.add(key)
    return keys


def is_mutation(document: DocumentNode, operation_name: str | None) -> bool:
    operation = get_operation_ast(document, operation_name)
    return operation is not None and operation.operation == OperationType.MUTATION


def _value(node: ValueNode, variables: dict[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        return variables.get(node.name.value)
    return node.value if isinstance(node, StringValueNode) else None


def _input_key(node: ValueNode, variables: dict[str, Any]) -> Any:
    if isinstance(node, VariableNode):
        given = variables.get(node.name.value)
        return given.get(ARGUMENT) if isinstance(given, dict) else None
    if isinstance(node, ObjectValueNode):
        return next((_value(f.value, variables) for f in node.fields if f.name.value == ARGUMENT), None)
    return None


def _root_fields(selection_set: SelectionSetNode) -> list[FieldNode]:
    fields: list[FieldNode] = []
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            fields.append(node)
        elif isinstance(node, InlineFragmentNode):
            fields += _root_fields(node.selection_set)
    return fields


def request_hash(document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None) -> str:
    text = json.dumps([print_ast(document), operation_name, variables or {}], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _refusal(message: str, code: str) -> GraphQLExecutionResult:
    return GraphQLExecutionResult(data=None, errors=[GraphQLError(message, extensions={"code": code})])


class Idempotency(SchemaExtension):
    def __init__(self, *, execution_context: Any = None) -> None:
        self.replayed = False
        if execution_context is not None:
            self.execution_context = execution_context

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        claim: Claim | None = None
        store: IdempotencyKeys | None = None
        document = context.graphql_document
        if context.result is None and document is not None:
            keys = request_keys(document, context.operation_name, context.variables)
            header = context.context.idempotency_key
            if header is not None and is_mutation(document, context.operation_name):
                keys.add(header)  # the header and the argument, when both are given, must agree
            if len(keys) > 1:
                context.result = _refusal("give one idempotencyKey per request: its mutations (or its Idempotency-Key header) gave several",
                                          "INVALID_ARGUMENT")
            elif keys:
                key = next(iter(keys))
                if not key or len(key) > MAX_KEY_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in key):
                    context.result = _refusal(f"an idempotencyKey is 1 to {MAX_KEY_LENGTH} printable characters",
                                              "INVALID_ARGUMENT")
                else:
                    request = context.context
                    principal = request.principal.token_id or request.principal.name
                    store = _store(request.lake.connection, request.settings.request_timeout_seconds)
                    try:
                        found = await run_sync(store.begin, principal, key,
                                               request_hash(document, context.operation_name, context.variables))
                    except IdempotencyError as exc:
                        context.result = _refusal(exc.message, exc.code)
                    else:
                        if isinstance(found, str):
                            context.result = _replay(found)
                            self.replayed = True
                        else:
                            claim = found
        # a cancelled request (its timeout) ends here without the lines below: its claim stays pending, in doubt
        yield
        if claim is None or store is None:
            return
        result = context.result
        try:
            if result is None or result.data is None:
                # refused before anything was written (batches are all-or-nothing): a retry may run again
                await run_sync(store.release, claim)
            else:
                errors = [e.formatted for e in result.errors or []]
                await run_sync(store.complete, claim, json.dumps({"data": result.data, "errors": errors},
                                                                 default=str, ensure_ascii=False))
        except Exception:  # noqa: BLE001 - the mutation is written: answer it; a retry will be told "in doubt"
            log.warning("could not record the response of idempotency key claim %s", claim.id, exc_info=True)

    def get_results(self) -> dict[str, Any]:
        return {"idempotentReplay": True} if self.replayed else {}


def _replay(stored: str) -> GraphQLExecutionResult:
    first = json.loads(stored)
    errors = [GraphQLError(e.get("message", ""), path=e.get("path"), extensions=e.get("extensions"))
              for e in first.get("errors") or []]
    return GraphQLExecutionResult(data=first.get("data"), errors=errors or None)


__all__ = ["ARGUMENT", "Idempotency", "IdempotencyKey", "request_hash", "request_keys"]

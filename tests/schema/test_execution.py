"""The schema's executor (FastExecutionContext) answers exactly what graphql-core's default one does:
the same data and the same errors (message, path, locations, extensions), over real queries on a real
lake and over a small schema built to hit every edge of the plain-field path; and its variable
coercion (graph_api.schema.variables) gives what graphql-core's ``get_variable_values`` gives."""
from __future__ import annotations

import asyncio
import enum
import inspect
from pathlib import Path
from typing import Any

import pytest
import strawberry
from graphql import GraphQLError, OperationDefinitionNode, get_introspection_query, parse
from graphql.execution import Executor
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import Info

from bench.lake_bench import ASSET, TITLE_DETAIL
from bench.lake_bench import REGISTER as REGISTER_ASSETS
from graph_api.lake import Lake
from graph_api.lake.lineage import open_lineage
from graph_api.schema import build_schema, schema, variables
from graph_api.schema.context import make_context
from graph_api.schema.execution import FastExecutionContext
from graph_api.schema.variables import coercer_for, variable_values
from graph_api.settings import Settings
from tests.conftest import asset_input, make_assets, make_title


def _answer(result: Any) -> tuple[Any, list[dict[str, Any]] | None]:
    errors = [e.formatted for e in result.errors] if result.errors else None
    return result.data, errors


# --- the real schema over a real lake ------------------------------------------------------------
class World:
    def __init__(self, root: Path) -> None:
        self.settings = Settings.load(env={}, lake=str(root / "lake"), auth="off")
        self.lake = Lake(str(root / "lake"), background_compaction=False)
        self.title = make_title(self.lake)["id"]
        assets = make_assets(self.lake, self.title, 6, technical={"streams": [{"codec": "prores"}]})
        self.asset = assets[0]["id"]
        segments = self.lake.segments.add([{"asset_id": a["id"], "kind": "SHOT", "start": 0, "end": 2,
                                            "text": None} for a in assets])
        self.lake.annotations.add([{"asset_id": s["asset_id"], "segment_id": s["id"], "label": label,
                                    "category": "compliance", "value": {"flag": True}, "confidence": 0.5}
                                   for s in segments for label in ("smoking", "gore")])
        self.lineage = open_lineage(self.lake, self.settings)
        self.lineage.note_assets([self.lake.assets.get(self.asset)])  # type: ignore[list-item]
        run = self.lineage.record_run({"job": {"namespace": "t", "name": "proxy"}, "inputs": [self.asset],
                                       "outputs": [asset_input(self.title, role="proxy")]}).run
        self.run = run.id
        self.derived = run.outputs[0]
        self.default = build_schema(self.settings)
        self.default.execution_context_class = StrawberryGraphQLCoreExecutionContext

    def execute(self, on: Any, query: str, variables: dict[str, Any]) -> tuple[Any, list[dict[str, Any]] | None]:
        context = make_context(self.settings, self.lineage.lake, self.lineage)
        return _answer(asyncio.run(on.execute(query, variable_values=variables, context_value=context)))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(tmp_path_factory.mktemp("execution"))


LAKE_QUERIES: dict[str, str] = {
    "title detail": TITLE_DETAIL,
    "asset": ASSET,
    "tests' title detail": """query($title: ID!) { title(id: $title) { name assets(first: 100) {
        edges { node { id role uri sizeBytes technical
          annotations { edges { node { label value confidence segment { start end } } } }
          segments { edges { node { kind start end text } } } } } } } }""",
    "aliases, fragments, typename": """query($title: ID!, $asset: ID!) {
        a: title(id: $title) { __typename ...T again: name }
        b: node(id: $asset) { __typename id ... on Asset { kind: mediaType isCurrent ...A } }
        missing: asset(id: "asset_missing") { id } }
        fragment T on Title { id name kind releaseYear restricted externalId }
        fragment A on Asset { w: width h: height frameRate durationSeconds version checksum }""",
    "include and skip": """query($title: ID!, $yes: Boolean!, $no: Boolean!) { title(id: $title) {
        id @include(if: $yes) name @skip(if: $yes) kind @include(if: $no) releaseYear @skip(if: $no)
        assets(first: 3) { edges { cursor node { id @include(if: $yes) uri @skip(if: $no) role } } } } }""",
    "lineage": """query($asset: ID!) { lineage(id: $asset, direction: DOWNSTREAM) { root isPartial
        nodes { degree entity { __typename ... on Asset { id role version } ... on Run { id status } } }
        edges { from to } } }""",
    "provenance and run": """query($derived: ID!, $run: ID!) { provenance(id: $derived) { asset { id }
          sources { id version } steps { jobVersion parameters inputs { version currentVersion asset { id } }
          outputs { id role mediaType } job { __typename } } }
        run(id: $run) { __typename id status jobVersion parameters startedAt inputs { id isCurrent } } }""",
    "enums and nested lists": """query($title: ID!) { titles(first: 5) { totalCount edges { node { kind name } } }
        title(id: $title) { assets(first: 2) { edges { node { mediaType versions { version isCurrent } } } } } }""",
    "not found errors": """query { lineage(id: "asset_nope") { root } provenance(id: "asset_nope") { __typename } }""",
    "introspection": get_introspection_query(descriptions=True),
}


@pytest.mark.parametrize("name", LAKE_QUERIES)
def test_the_schema_answers_as_graphql_core_does(world: World, name: str) -> None:
    variables = {"id": world.title if name == "title detail" else world.asset, "title": world.title,
                 "asset": world.asset, "derived": world.derived, "run": world.run, "yes": True, "no": False}
    query = LAKE_QUERIES[name]
    used = {k: v for k, v in variables.items() if f"${k}" in query}
    fast = world.execute(schema, query, used)
    assert fast == world.execute(world.default, query, used)
    assert fast[0] is not None or fast[1]


def test_the_errors_case_answers_errors(world: World) -> None:
    data, errors = world.execute(schema, LAKE_QUERIES["not found errors"], {})
    assert errors and {e["extensions"]["code"] for e in errors} == {"NOT_FOUND"}


def test_title_detail_takes_the_fast_path(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    plain = FastExecutionContext._execute_plain

    def counted(self: FastExecutionContext, *args: Any) -> Any:
        calls.append(args[0].name)
        return plain(self, *args)

    monkeypatch.setattr(FastExecutionContext, "_execute_plain", counted)
    data, errors = world.execute(schema, TITLE_DETAIL, {"id": world.title})
    assert errors is None and data["title"]["assets"]["edges"]
    # every asset's scalars and every annotation's, and the edges' nodes: far more than the fields that need a resolver
    assert len(calls) > 100 and {"uri", "media_type", "label", "confidence", "node"} <= set(calls)


# --- a small schema for the edges: values the plain path must hand back to graphql-core -------------
@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Never(BasePermission):
    message = "never"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return False


LATER = object()


async def _later(value: Any) -> Any:
    return value


@strawberry.type
class Thing:
    label: str
    maybe: str | None
    count: int
    ratio: float | None
    colour: Colour
    colours: list[Colour | None] | None
    tags: list[str]
    grid: list[list[int | None]] | None
    strict_tags: list[str] | None
    blob: JSON | None
    renamed: str | None = strawberry.field(name="alias")
    secret: str | None = strawberry.field(default=None, permission_classes=[Never])
    _hidden: strawberry.Private[str] = "x"

    @strawberry.field
    def resolved(self) -> str:
        return self.label.upper()


@strawberry.type
class Gauge:
    reading: int
    note: str | None


class FailingGauge(Gauge):
    """A plain field strawberry reads with getattr, here a property that raises."""

    @property  # type: ignore[misc]
    def reading(self) -> int:  # type: ignore[override]
        raise RuntimeError("the gauge failed")


def _failing_gauge() -> Gauge:
    gauge = FailingGauge.__new__(FailingGauge)
    gauge.__dict__["note"] = "failing"
    return gauge


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Pet(Named):
    """A type implementing an interface: graphql-core checks its ``is_type_of`` on every value."""


@strawberry.type
class Holder:
    """Plain attributes holding objects (as an edge holds its node)."""

    inner: Gauge
    maybe_inner: Gauge | None
    pet: Pet | None


def _holders() -> list[Holder | None]:
    wrong: Any = Gauge(reading=3, note=None)  # not a Pet: its is_type_of refuses it
    return [Holder(inner=Gauge(reading=1, note="a"), maybe_inner=None, pet=Pet(name="rex")),
            Holder(inner=None, maybe_inner=Gauge(reading=2, note=None), pet=None),  # type: ignore[arg-type]
            Holder(inner=_failing_gauge(), maybe_inner=_failing_gauge(), pet=wrong),
            Holder(inner=_later(Gauge(reading=4, note="x")), maybe_inner=ValueError("stored"),  # type: ignore[arg-type]
                   pet=Pet(name="later"))]


GOOD = dict(label="a", maybe=None, count=1, ratio=0.5, colour=Colour.RED, colours=[Colour.BLUE, None],
            tags=["x", "y"], grid=[[1, None], [2]], strict_tags=("p", "q"), blob={"k": [1]},
            renamed="r")
BROKEN: list[dict[str, Any]] = [
    {},
    # a non-null field holding None
    dict(label=None),
    # an Int out of range, a float that is a string, an enum value not in the enum
    dict(count=2 ** 40), dict(ratio="fast"), dict(colour="green"),
    # a None item in a list of non-null items, a string where a list is expected, a bad item in a nested list
    dict(tags=["x", None]), dict(strict_tags="pq"), dict(grid=[[1, "two"]]),
    # an exception object as a value, an awaitable value (graphql-core awaits it), a bad enum item
    dict(maybe=ValueError("stored error")), dict(maybe=LATER), dict(colours=[Colour.RED, "nope"]),
    # an awaitable where any value serializes (JSON): graphql-core awaits it all the same
    dict(blob=LATER),
    # a function where a string is expected
    dict(renamed=len),
]


def _thing(index: int) -> Thing:
    # awaitables are made here, so that every execution awaits its own
    fields = {k: _later("awaited") if v is LATER else v for k, v in {**GOOD, **BROKEN[index]}.items()}
    return Thing(**fields)


@strawberry.type
class ToyQuery:
    @strawberry.field
    def things(self, broken: bool = False) -> list[Thing | None]:
        return [_thing(i) for i in range(len(BROKEN) if broken else 1)]

    @strawberry.field
    def thing(self, index: int) -> Thing:
        return _thing(index)

    @strawberry.field
    def maybe_thing(self, index: int) -> Thing | None:
        return _thing(index)

    @strawberry.field
    def holders(self) -> list[Holder | None]:
        return _holders()

    @strawberry.field
    def gauges(self) -> list[Gauge | None]:
        return [Gauge(reading=1, note=None), _failing_gauge()]


SEEN: list[str] = []


class SeesEveryField(SchemaExtension):
    """A resolve hook: with one installed, no field may skip it."""

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        SEEN.append(info.field_name)
        return _next(root, info, *args, **kwargs)


ALL_FIELDS = "__typename label maybe count ratio colour colours tags grid strictTags blob alias resolved"
TOY_QUERIES = {
    "plain values": "{ things { %s } }" % ALL_FIELDS,
    "broken values": "{ things(broken: true) { %s } }" % ALL_FIELDS,
    "an error through a non-null parent": "{ thing(index: 1) { label count } }",
    "an error into a nullable parent": "{ maybeThing(index: 2) { label count } }",
    "a property that raises": "{ gauges { __typename reading note } }",
    "objects held in attributes": "{ holders { inner { reading note } maybeInner { __typename reading } "
                                  "pet { name __typename } } }",
    "objects held in attributes, aliased": "{ holders { pet { name } inner { r: reading } } "
                                           "first: holders { __typename inner { note } } }",
    "permission classes": "{ things { label secret } }",
    "aliases, fragments, directives": """query($yes: Boolean!) { first: things { l: label ...F c: count @include(if: $yes)
        count @skip(if: $yes) } second: things(broken: true) { ... on Thing { tags } ...F } }
        fragment F on Thing { __typename colour maybe }""",
    "introspection": get_introspection_query(descriptions=True),
}
WITH_ERRORS = {"broken values", "an error through a non-null parent", "an error into a nullable parent",
               "a property that raises", "permission classes", "objects held in attributes",
               "objects held in attributes, aliased", "aliases, fragments, directives"}


def _toy_schemas(extensions: list[Any]) -> tuple[strawberry.Schema, strawberry.Schema]:
    return (strawberry.Schema(query=ToyQuery, extensions=extensions, execution_context_class=FastExecutionContext),
            strawberry.Schema(query=ToyQuery, extensions=extensions))


FAST_TOY, DEFAULT_TOY = _toy_schemas([])


def _toy(on: strawberry.Schema, query: str) -> tuple[Any, list[dict[str, Any]] | None]:
    variables = {"yes": True} if "$yes" in query else None
    return _answer(asyncio.run(on.execute(query, variable_values=variables)))


@pytest.mark.parametrize("name", TOY_QUERIES)
def test_edge_values_answer_as_graphql_core_does(name: str) -> None:
    fast = _toy(FAST_TOY, TOY_QUERIES[name])
    assert fast == _toy(DEFAULT_TOY, TOY_QUERIES[name])
    assert bool(fast[1]) is (name in WITH_ERRORS)


def test_broken_values_report_each_error_at_its_path() -> None:
    data, errors = _toy(FAST_TOY, TOY_QUERIES["broken values"])
    assert errors is not None and data is not None
    paths = {tuple(e["path"]) for e in errors}
    assert {("things", 1, "label"), ("things", 5, "tags", 1), ("things", 7, "grid", 0, 1)} <= paths
    assert "Cannot return null for non-nullable field Thing.label." in [e["message"] for e in errors]
    things = data["things"]
    assert things[0]["label"] == "a" and things[1] is None and things[9]["maybe"] == "awaited"
    assert things[11]["blob"] == "awaited"
    assert things[3]["ratio"] is None and things[3]["label"] == "a"  # a nullable field's error nulls it alone
    assert _toy(FAST_TOY, TOY_QUERIES["an error through a non-null parent"])[0] is None


def test_a_resolve_hook_sees_every_field() -> None:
    fast, default = _toy_schemas([SeesEveryField])
    answers = []
    seen = []
    for on in (fast, default):
        SEEN.clear()
        answers.append(_toy(on, TOY_QUERIES["plain values"]))
        seen.append(sorted(SEEN))
    assert answers[0] == answers[1]
    assert seen[0] == seen[1] and "label" in seen[0]


def test_a_synchronous_execution_answers_the_same() -> None:
    query = TOY_QUERIES["plain values"]
    assert _answer(FAST_TOY.execute_sync(query)) == _answer(DEFAULT_TOY.execute_sync(query))


# --- variables: compiled coercion against graphql-core's ----------------------------------------------
REGISTER = """mutation($input: [AssetInput!]!, $key: String, $n: Int = 3, $when: DateTime) {
    registerAssets(input: $input, idempotencyKey: $key) { id } }"""


def _row(n: int, **fields: Any) -> dict[str, Any]:
    return {"titleId": "title_1", "mediaType": "VIDEO", "role": "source", "uri": f"s3://m/{n}.mov",
            "checksum": f"sha256:{n:064x}", "sizeBytes": 2 ** 40 + n, "durationSeconds": 1.5, "width": 1920,
            "height": None, "technical": {"streams": [{"codec": "prores", "deep": [[[n]]]}]},
            "externalId": f"x-{n}", **fields}


ROWS = [_row(n) for n in range(50)]
GIVEN = {"key": "k", "n": 5, "when": "2024-01-01T00:00:00+00:00"}
VARIABLES: dict[str, dict[str, Any]] = {
    "valid rows": {**GIVEN, "input": ROWS},
    "nullable variables null": {"input": ROWS[:3], "key": None, "n": None, "when": None},
    "one object for a list": {**GIVEN, "input": ROWS[0]},
    "a tuple for a list": {**GIVEN, "input": tuple(ROWS[:2])},
    "only required fields": {**GIVEN, "input": [{"titleId": "t", "mediaType": "AUDIO", "role": "r", "uri": "u"}]},
    "optional variables omitted": {"input": ROWS[:3], "n": 1},
    # graphql-core's alone: a default to apply, a required variable missing
    "a default applied": {"input": ROWS[:3]},
    "the list missing": {**GIVEN},
    # values that do not coerce
    "a missing required field": {**GIVEN, "input": [*ROWS[:2], {"titleId": "t", "mediaType": "AUDIO", "role": "r"}]},
    "an unknown field": {**GIVEN, "input": [_row(1, colour="red")]},
    "an enum value not in the enum": {**GIVEN, "input": [_row(1, mediaType="FILM")]},
    "an int that is a string": {**GIVEN, "input": [_row(1, width="wide")]},
    "an int too big": {**GIVEN, "input": [_row(1, width=2 ** 40)]},
    "null in a non-null list": {**GIVEN, "input": [ROWS[0], None]},
    "the list null": {**GIVEN, "input": None},
    "a bad DateTime": {**GIVEN, "input": ROWS[:1], "when": "yesterday"},
    "a bad item given alone": {**GIVEN, "input": _row(1, width="wide")},
    "many errors": {**GIVEN, "input": [_row(n, width="w") for n in range(60)]},
    "a string for an object": {**GIVEN, "input": ["not an object"]},
}
COERCED_HERE = {"valid rows", "nullable variables null", "one object for a list", "a tuple for a list",
                "only required fields", "optional variables omitted"}


def _operation(document: Any) -> OperationDefinitionNode:
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation


def _coerced(values: list[GraphQLError] | VariableValues) -> Any:
    if isinstance(values, list):
        return [e.formatted for e in values]
    # a signature's type is a fresh wrapper each time: compare it by what it prints
    return values.coerced, {name: (s.signature.name, str(s.signature.type), s.signature.default, s.value)
                            for name, s in values.sources.items()}


@pytest.mark.parametrize("name", VARIABLES)
def test_variables_coerce_as_graphql_core_coerces_them(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    graphql_schema = schema._schema
    definitions = _operation(parse(REGISTER)).variable_definitions
    handed_over = []

    def graphql_cores(*args: Any, **kwargs: Any) -> Any:
        handed_over.append(args)
        return get_variable_values(*args, **kwargs)

    monkeypatch.setattr(variables, "get_variable_values", graphql_cores)
    for max_errors in (None, 2):
        ours = variable_values(graphql_schema, definitions, VARIABLES[name], max_errors=max_errors)
        assert _coerced(ours) == _coerced(get_variable_values(graphql_schema, definitions, VARIABLES[name],
                                                              max_errors=max_errors))
    assert bool(handed_over) is (name not in COERCED_HERE)


def test_the_mutation_answers_the_same_through_both_executors(world: World) -> None:
    rows = [{**_row(n), "titleId": world.title} for n in range(5)]
    first = world.execute(schema, REGISTER_ASSETS, {"input": rows})
    assert first[1] is None
    # registering the same external ids again answers the same assets
    assert world.execute(world.default, REGISTER_ASSETS, {"input": rows}) == first
    bad = [*rows, {**_row(9), "titleId": world.title, "width": "wide"}]
    answer = world.execute(schema, REGISTER_ASSETS, {"input": bad})
    assert answer[1] and answer == world.execute(world.default, REGISTER_ASSETS, {"input": bad})


@strawberry.input
class Tree:
    value: int | None = None
    children: list[Tree] | None = None


@strawberry.type
class TreeQuery:
    @strawberry.field
    def size(self, tree: Tree) -> int:
        return 1 + sum(self.size(c) for c in tree.children or [])


TREE_SCHEMAS = (strawberry.Schema(query=TreeQuery, execution_context_class=FastExecutionContext),
                strawberry.Schema(query=TreeQuery))


def test_build_takes_graphql_cores_parameters() -> None:
    """``FastExecutionContext.build`` is a copy of graphql-core's: an upgrade that changes the original's
    parameters must be looked at (the rest of the copy is checked by the comparisons above)."""
    ours = inspect.signature(FastExecutionContext.build).parameters
    theirs = inspect.signature(Executor.build).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == \
           [(p.name, p.kind, p.default) for p in theirs.values()]


def test_a_self_referring_input_goes_to_graphql_core() -> None:
    def nested(depth: int) -> dict[str, Any]:
        tree: dict[str, Any] = {"value": 0}
        for _ in range(depth):
            tree = {"value": 1, "children": [tree]}
        return tree

    graphql_schema = TREE_SCHEMAS[0]._schema
    tree_type = graphql_schema.get_type("Tree")
    assert tree_type is not None and coercer_for(tree_type) is None  # type: ignore[arg-type]
    query = "query($t: Tree!) { size(tree: $t) }"
    for depth in (3, 300):
        fast, default = (_answer(asyncio.run(on.execute(query, variable_values={"t": nested(depth)})))
                         for on in TREE_SCHEMAS)
        assert fast == default
    assert fast[1] and "nested too deeply" in fast[1][0]["message"]

"""A restricted title does not exist for a reader not granted it, whatever path a query takes.

The lake holds a restricted series (with an episode that inherits the restriction) whose every
string carries MARKER, a public movie, and lineage crossing between them both ways. The walk is
generated from the schema's introspection: every root field of Query, every field path below it
(each object type expanded once per path), id arguments filled with the restricted and the public
ids in turn. No response of an unentitled reader may carry the marker or a restricted id; an
entitled reader's responses carry them all (else the walk would prove nothing).
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
    Undefined,
    get_named_type,
)
from starlette.testclient import TestClient
from strawberry.extensions import ParserCache

from graph_api.http.app import create_app
from graph_api.lake import Lake
from graph_api.lake.access import access_for
from graph_api.lake.lineage import LakeLineage, open_lineage
from graph_api.lake.tokens import Principal, open_tokens
from graph_api.schema import build_schema, schema
from graph_api.schema.context import make_context
from graph_api.settings import Settings
from lineage.openlineage import uri_dataset
from tests.conftest import checksum

MARKER = "SECRET-7f3a"
SPACE = "clip"  # a space holds vectors of every title: its name is not a title's data
DEPTH = 4
READER = Principal(name="reader", scopes=frozenset({"read"}))
# the walk asks for every path at once, in aliased documents far beyond a client's limits: the limits
# are not what is under test here (tests/http/ tests them), the access rule is. Its documents are large and
# repeat (ids are variables), so it caches their parse, which otherwise dominates the walk
WALK_SCHEMA = build_schema(Settings(max_depth=1_000, max_aliases=1_000_000, max_cost=10**15, max_tokens=10**8))
WALK_SCHEMA.extensions = (*WALK_SCHEMA.extensions, lambda: ParserCache(maxsize=256))


@dataclass
class World:
    lake: Lake
    lineage: LakeLineage
    settings: Settings
    secret_ids: list[str]  # every id of the restricted titles' rows and runs
    public_ids: list[str]
    series: str


def _secret(text: str) -> str:
    return f"{MARKER} {text}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    lake_dir = str(tmp_path_factory.mktemp("entitlements") / "lake")
    settings = Settings.load(env={}, lake=lake_dir)
    lineage = open_lineage(Lake(lake_dir, background_compaction=False), settings)
    lake = lineage.lake
    series = lake.titles.create([{"name": _secret("series"), "kind": "SERIES", "restricted": True,
                                  "external_id": _secret("series-ext")}])[0]
    episode = lake.titles.create([{"name": _secret("episode"), "kind": "EPISODE", "parent_id": series["id"],
                                   "external_id": _secret("episode-ext")}])[0]  # restricted by inheritance
    movie = lake.titles.create([{"name": "Public Movie", "kind": "MOVIE"}])[0]

    def asset(title: str, n: str, secret: bool) -> dict[str, Any]:
        text = _secret if secret else (lambda s: s)
        return {"title_id": title, "media_type": "VIDEO", "role": text("source").replace(" ", "-"),
                "uri": f"s3://studio/{text(n).replace(' ', '-')}.mov", "checksum": checksum(text(n)),
                "external_id": text(f"ext-{n}"), "technical": {"note": text("probe")}}

    public, secret = lake.assets.register([asset(movie["id"], "public", False), asset(episode["id"], "secret", True)])
    lineage.note_assets([public, secret])

    def run(name: str, inputs: list[str], title: str, n: str, secret_run: bool) -> tuple[str, str]:
        output = asset(title, n, secret_run) | {"role": _secret("proxy").replace(" ", "-") if secret_run else "proxy"}
        output.pop("external_id")
        recorded = lineage.record_run({
            "job": {"namespace": "studio", "name": name, "version": "1"}, "inputs": inputs,
            "outputs": [output], "parameters": {"preset": _secret("preset")} if secret_run else {"preset": "web"}})
        return recorded.run.id, recorded.run.outputs[0]

    # into the restricted episode from the public source, within it, and out of it into the movie
    into, secret_proxy = run("proxy", [public["id"]], episode["id"], "into", True)
    within, secret_frames = run("frames", [secret["id"]], episode["id"], "within", True)
    out, public_trailer = run("trailer", [secret_proxy], movie["id"], "trailer", False)

    segments = lake.segments.add([
        {"asset_id": secret["id"], "kind": "DIALOGUE", "start": 0.0, "end": 2.0, "text": _secret("harbour ship"),
         "run_id": within},
        {"asset_id": public["id"], "kind": "DIALOGUE", "start": 0.0, "end": 2.0, "text": "harbour ship"},
    ])
    annotations = lake.annotations.add([
        {"asset_id": secret["id"], "segment_id": segments[0]["id"], "label": _secret("smoking").replace(" ", "-"),
         "category": _secret("compliance"), "value": json.dumps({"why": _secret("value")}), "confidence": 0.9,
         "run_id": within},
        {"asset_id": public["id"], "segment_id": segments[1]["id"], "label": "harbour", "category": "compliance"},
    ])
    lineage.attach_outputs(within, [segments[0]["id"], annotations[0]["id"]])
    lake.embeddings.upsert(SPACE, "test-model", [
        {"subject_id": segments[0]["id"], "vector": [1.0, 0.0, 0.0, 0.0], "run_id": within},
        {"subject_id": secret["id"], "vector": [0.9, 0.1, 0.0, 0.0]},
        {"subject_id": segments[1]["id"], "vector": [0.0, 1.0, 0.0, 0.0]},
        {"subject_id": public["id"], "vector": [0.1, 0.9, 0.0, 0.0]},
    ])
    lineage.attach_outputs(within, [f"emb:{SPACE}:{segments[0]['id']}"])
    # a newer job version: the runs of version 1 and what they made are stale, with reasons naming ids
    lineage.set_job_version("studio", "proxy", "2")
    lineage.set_job_version("studio", "frames", "2")
    yield World(
        lake=lake, lineage=lineage, settings=settings, series=series["id"],
        secret_ids=[series["id"], episode["id"], secret["id"], secret_proxy, secret_frames, into, within,
                    segments[0]["id"], annotations[0]["id"]],
        public_ids=[movie["id"], public["id"], public_trailer, out, segments[1]["id"], annotations[1]["id"]],
    )


# --- the walk, generated from the schema ---------------------------------------------------------
def _unwrap(type_: Any) -> Any:
    while isinstance(type_, (GraphQLNonNull, GraphQLList)):
        type_ = type_.of_type
    return type_


def _is_id_list(type_: Any) -> bool:
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return isinstance(inner, GraphQLList) and _unwrap(inner).name == "ID"


# optional arguments a field needs to do anything (search needs something to search by)
_USEFUL = {"text": "harbour", "first": 50, "maxDepth": 20, "limit": 1000, "space": SPACE}
# fields that fail for an ordinary object (similar: a subject with no vector is NOT_FOUND), which under a
# non-null parent cancels the sibling resolvers (graphql-core's gather_with_cancel) and the whole query
# fails with a CancelledError; they are walked from the root instead (_similar_queries)
_NOT_NESTED = {"similar"}


class _Variable(str):
    """An argument value written as ``$name`` rather than as a JSON literal."""

    def __new__(cls, name: str) -> _Variable:
        return super().__new__(cls, f"${name}")


def _arguments(field: GraphQLField, fill: dict[str, Any]) -> str:
    parts = []
    for name, arg in field.args.items():
        if name in fill:
            value = fill[name]
        elif name in _USEFUL and get_named_type(arg.type).name in ("String", "Int"):
            value = _USEFUL[name]
        elif isinstance(arg.type, GraphQLNonNull) and get_named_type(arg.type).name == "ID":
            value = fill.get("*id", "nope")
        elif isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined:
            pytest.fail(f"the walk cannot fill the required argument {name} of {field}: teach it")
        else:
            continue
        parts.append(f"{name}: {value if isinstance(value, _Variable) else json.dumps(value)}")
    return f"({', '.join(parts)})" if parts else ""


def _selection(type_: GraphQLNamedType, path: tuple[str, ...], fill: dict[str, Any]) -> str:
    """Every field of ``type_``; object fields expanded unless their type is on the path already."""
    if isinstance(type_, (GraphQLUnionType, GraphQLInterfaceType)):
        possible = schema._schema.get_possible_types(type_)
        return "__typename " + " ".join(
            f"... on {t.name} {{ {_selection(t, path, fill)} }}" for t in possible if t.name not in path) \
            if len(path) < DEPTH else "__typename"
    assert isinstance(type_, GraphQLObjectType)
    parts = ["__typename"]
    for name, field in type_.fields.items():
        if name in _NOT_NESTED:
            continue
        inner = get_named_type(field.type)
        args = _arguments(field, fill)
        if isinstance(inner, (GraphQLObjectType, GraphQLUnionType, GraphQLInterfaceType)):
            if inner.name in path or len(path) >= DEPTH:
                continue
            parts.append(f"{type_.name}_{name}: {name}{args} {{ {_selection(inner, (*path, inner.name), fill)} }}")
        elif not any(isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined and a.name not in fill
                     and get_named_type(a.type).name != "ID" for a in field.args.values()):
            # aliased by type: the same name may have other types in a union's other members
            parts.append(f"{type_.name}_{name}: {name}{args}")
    return " ".join(parts)


def _queries(world: World) -> Iterator[tuple[str, dict[str, Any]]]:
    """One query per root field and id argument value (every restricted and public id in turn). The id is a
    variable, so the walk parses each root field's (large) document once, not once per id."""
    query_type = schema._schema.query_type
    assert query_type is not None
    ids = world.secret_ids + world.public_ids
    for name, field in query_type.fields.items():
        if name == "_entities":  # representations, not ids: _entities_queries
            continue
        inner = get_named_type(field.type)
        selection = (f" {{ {_selection(inner, (inner.name,), {'*id': ids[-1]})} }}"
                     if isinstance(inner, (GraphQLObjectType, GraphQLUnionType, GraphQLInterfaceType)) else "")
        id_args = [a for a, arg in field.args.items() if get_named_type(arg.type).name == "ID"]
        if not any(isinstance(field.args[a].type, GraphQLNonNull) for a in id_args):
            yield f"query {{ {name}{_arguments(field, {})}{selection} }}", {}
        for arg in id_args:
            as_list = _is_id_list(field.args[arg].type)
            args = _arguments(field, {arg: _Variable("v"), "*id": ids[-1]})
            document = f"query($v: {field.args[arg].type}) {{ {name}{args}{selection} }}"
            for value in ids:
                yield document, {"v": [value] if as_list else value}


def _entities_queries(world: World) -> Iterator[tuple[str, dict[str, Any]]]:
    field = schema._schema.query_type.fields["_entities"]  # type: ignore[union-attr]
    union = get_named_type(field.type)
    selection = _selection(union, (), {"*id": world.public_ids[-1]})
    for type_name in sorted(t.name for t in union.types):  # type: ignore[union-attr]
        for id_ in world.secret_ids + world.public_ids:
            yield (f"query($r: [_Any!]!) {{ _entities(representations: $r) {{ {selection} }} }}",
                   {"r": [{"__typename": type_name, "id": id_}]})


def _similar_queries(world: World) -> Iterator[str]:
    """``similar`` of every public subject with a vector (a restricted one is null before it)."""
    field = schema._schema.type_map["Asset"].fields["similar"]  # type: ignore[union-attr]
    hits = _selection(get_named_type(field.type), ("Asset", "SearchHit"), {})
    for type_name, id_ in (("Asset", world.public_ids[1]), ("Segment", world.public_ids[4])):
        yield f"query {{ node(id: {json.dumps(id_)}) {{ ... on {type_name} {{ similar(space: {json.dumps(SPACE)}) {{ {hits} }} }} }} }}"


def _walk(world: World, principal: Principal) -> list[tuple[str, dict[str, Any]]]:
    access = access_for(principal)

    async def run_all() -> list[tuple[str, dict[str, Any]]]:
        out = []
        queries = [*_queries(world), *((q, {}) for q in _similar_queries(world)), *_entities_queries(world)]
        for query, variables in queries:
            context = make_context(world.settings, world.lake, world.lineage, access=access)
            result = await WALK_SCHEMA.execute(query, variable_values=variables, context_value=context)
            response: dict[str, Any] = {"data": result.data}
            if result.errors:
                response["errors"] = [{"message": e.message, "extensions": e.extensions} for e in result.errors]
            out.append((query, response))
        return out

    return asyncio.run(run_all())


def test_nothing_of_a_restricted_title_reaches_a_reader_not_granted_it(world: World) -> None:
    responses = _walk(world, READER)
    assert len(responses) > 100
    for query, response in responses:
        text = json.dumps(response)
        assert MARKER not in text, (query, response)
        data = json.dumps(response["data"])
        for secret in world.secret_ids:
            assert secret not in data, (secret, query, response)
        for error in response.get("errors", []):
            assert (error["extensions"] or {}).get("code") != "INTERNAL", (query, error)


def test_a_reader_granted_the_series_sees_all_of_it(world: World) -> None:
    """The same walk for a reader granted the series (which covers its episode) reaches every restricted
    row and the marker: the walk above looked where the secrets are."""
    granted = Principal(name="editor", scopes=frozenset({"read"}), title_ids=frozenset({world.series}))
    responses = _walk(world, granted)
    everything = "\n".join(json.dumps(r) for _, r in responses)
    assert MARKER in everything
    for secret in world.secret_ids:
        assert secret in everything, secret


def test_the_openlineage_endpoint_knows_nothing_of_a_restricted_title(world: World) -> None:
    """GET of a run that wrote into a restricted title and POST naming a restricted dataset: 404, as for
    what does not exist; the same requests of a reader granted the series succeed."""
    secret_run, secret_asset = world.secret_ids[5], world.secret_ids[2]
    uri = world.lake.assets.get(secret_asset)["uri"]  # type: ignore[index]
    namespace, name = uri_dataset(uri)
    event = {"eventType": "START", "eventTime": "2026-01-01T00:00:00Z", "producer": "tests",
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
             "run": {"runId": "6a1e1c4e-8a56-4a8e-9a35-1d5c0f7b0a12"}, "job": {"namespace": "t", "name": "ol"},
             "inputs": [{"namespace": namespace, "name": name}], "outputs": []}

    def client(principal: Principal) -> TestClient:
        # a real token for the principal, through the real auth middleware
        lake = Lake(world.settings.lake, background_compaction=False)
        _, token = open_tokens(lake.connection).create(principal.name, sorted(principal.scopes),
                                                       title_ids=sorted(principal.title_ids))
        app = create_app(dataclasses.replace(world.settings, auth="on"), lake)
        return TestClient(app, headers={"Authorization": f"Bearer {token}"})

    # a token that may write (POST needs it) but was granted no restricted title
    with client(Principal(name="writer", scopes=frozenset({"read", "write"}))) as http:
        got = http.get(f"/api/v1/lineage/runs/{secret_run}")
        assert got.status_code == 404 and MARKER not in got.text
        posted = http.post("/api/v1/lineage", json=event)
        assert posted.status_code == 404 and posted.json()["error"]["code"] == "NOT_FOUND", posted.text
    granted = Principal(name="editor", scopes=frozenset({"read", "write"}), title_ids=frozenset({world.series}))
    with client(granted) as http:
        assert http.get(f"/api/v1/lineage/runs/{secret_run}").status_code == 200
        assert http.post("/api/v1/lineage", json=event).status_code == 201

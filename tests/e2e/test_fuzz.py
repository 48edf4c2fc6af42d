"""schemathesis in GraphQL mode against a real uvicorn on a seeded lake: every root field of Query and
Mutation gets generated documents, valid ones and ones the schema must refuse, with a fixed seed. Every
answer must be below 500 and fit the schema (tests/e2e/conformance.py): data of the declared types,
every error with an ``extensions.code`` and none of them the masked INTERNAL."""
from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
import requests  # schemathesis's transport: Case.call() raises its errors
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes
from schemathesis.specs.graphql.scalars import CUSTOM_SCALARS

from graph_api.lake import Lake
from graph_api.lake.tokens import SCOPES, open_tokens
from tests.conftest import LiveServer, checksum
from tests.e2e.conformance import parse_body, problems
from tests.e2e.live import gql

# Cases per root field. 22 fields x (24 + 8) = at most 704 requests (682 are sent: fields with few arguments run
# out of distinct documents); the module takes 70-100 s on this 2-core machine while other jobs load it.
POSITIVE_EXAMPLES = 24
NEGATIVE_EXAMPLES = 8
REQUEST_TIMEOUT = 30.0
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def root_fields() -> list[str]:
    """Mutation.x, then Query.y, as schema.graphql declares them: the queries then also read what the fuzzed
    mutations wrote (tests/schema checks the file is what the server serves)."""
    document = graphql.parse(SCHEMA_FILE.read_text())
    return [f"{d.name.value}.{f.name.value}" for root in ("Mutation", "Query") for d in document.definitions
            if isinstance(d, graphql.ObjectTypeDefinitionNode | graphql.ObjectTypeExtensionNode)
            and d.name.value == root for f in d.fields or ()]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # auth on, as in production, with a token of every scope made before the server starts
    lake_dir = str(tmp_path_factory.mktemp("fuzz") / "lake")
    _, secret = open_tokens(Lake(lake_dir).connection).create("fuzz", list(SCOPES), all_titles=True)
    server = LiveServer(lake_dir, extra_args=["--auth", "on"])
    server.token = secret  # type: ignore[attr-defined]  # the fixture's own note for fuzz_headers
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fuzz_headers(fuzz_server: LiveServer) -> dict[str, str]:
    """Sent with every request: a bearer token with every scope."""
    return {"Authorization": f"Bearer {fuzz_server.token}"}  # type: ignore[attr-defined]  # set above


def seed(url: str, headers: dict[str, str]) -> dict[str, str]:
    """A series with an episode, its delivered media, a derived proxy with segments, an annotation and
    embeddings, and a job version bump that leaves the proxy stale: something behind every root field."""
    def run(query: str, variables: dict[str, Any]) -> Any:
        return gql(url, query, variables, **headers)

    title = "mutation($i: TitleInput!) { createTitle(input: $i) { id } }"
    series = run(title, {"i": {"name": "Harbour Lights", "kind": "SERIES", "externalId": "fuzz-series"}})
    episode = run(title, {"i": {"name": "Harbour Lights: Low Tide", "kind": "EPISODE", "releaseYear": 2025,
                                "parentId": series["createTitle"]["id"]}})["createTitle"]["id"]
    source, audio = run("mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id } }", {"i": [
        {"titleId": episode, "mediaType": "VIDEO", "role": "source", "uri": "s3://studio/fuzz/ep1.mov",
         "checksum": checksum("ep1"), "sizeBytes": 7_340_032_000, "durationSeconds": 1440.0, "width": 3840,
         "height": 2160, "frameRate": 23.976, "technical": {"codec": "prores"}, "externalId": "fuzz-ep1"},
        {"titleId": episode, "mediaType": "AUDIO", "role": "audio-stem", "uri": "s3://studio/fuzz/ep1.wav",
         "checksum": checksum("ep1 audio"), "durationSeconds": 1440.0}]})["registerAssets"]
    derived = run("mutation($r: RunInput!) { recordRun(input: $r) { id outputs { edges { node { id } } } } }", {"r": {
        "job": {"namespace": "fuzz", "name": "proxy", "version": "1"}, "inputs": [source["id"], audio["id"]],
        "outputs": [{"titleId": episode, "mediaType": "VIDEO", "role": "proxy", "uri": "s3://studio/fuzz/ep1.mp4",
                     "checksum": checksum("ep1 proxy"), "durationSeconds": 1440.0}],
        "status": "COMPLETED", "parameters": {"crf": 23}}})["recordRun"]
    proxy = derived["outputs"]["edges"][0]["node"]["id"]
    shot, line = run("mutation($i: [SegmentInput!]!) { addSegments(input: $i) { id } }", {"i": [
        {"assetId": proxy, "kind": "SHOT", "start": 0.0, "end": 4.5, "runId": derived["id"]},
        {"assetId": proxy, "kind": "DIALOGUE", "start": 1.0, "end": 3.0, "text": "the ship is in the harbour"}]}
    )["addSegments"]
    [note] = run("mutation($i: [AnnotationInput!]!) { addAnnotations(input: $i) { id } }", {"i": [
        {"assetId": proxy, "segmentId": shot["id"], "label": "smoking", "category": "compliance",
         "confidence": 0.9, "start": 0.0, "end": 4.5, "value": {"frames": [1, 2]}}]})["addAnnotations"]
    run("mutation($i: [EmbeddingInput!]!) { upsertEmbeddings(space: \"fuzz-space\", model: \"fuzz-model\", "
        "input: $i) }", {"i": [{"subjectId": s, "vector": v} for s, v in (
            (proxy, [1.0, 0.0, 0.0, 0.0]), (shot["id"], [0.0, 1.0, 0.0, 0.0]), (line["id"], [0.6, 0.8, 0.0, 0.0]))]})
    run('mutation { setJobVersion(namespace: "fuzz", name: "proxy", version: "2") { version } }', {})
    return {"series": series["createTitle"]["id"], "episode": episode, "source": source["id"], "audio": audio["id"],
            "run": derived["id"], "proxy": proxy, "shot": shot["id"], "line": line["id"], "annotation": note["id"]}


def _json_values() -> st.SearchStrategy[graphql.ValueNode]:
    """Any JSON value as a GraphQL literal (object keys must be GraphQL names)."""
    key = st.from_regex(r"\A[_a-zA-Z][_a-zA-Z0-9]{0,8}\Z")
    scalars = st.one_of(st.just(nodes.Null), st.booleans().map(nodes.Boolean), st.text(max_size=20).map(nodes.String),
                        st.integers(-(2**53), 2**53).map(nodes.Int),
                        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float))
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(nodes.List),
        st.dictionaries(key, inner, max_size=4).map(
            lambda d: nodes.Object([graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v)
                                    for k, v in d.items()]))), max_leaves=12)


def _scalars(ids: dict[str, str]) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """ID mostly draws the seeded ids (random ids only reach NOT_FOUND), plus ids of a real prefix that
    exist nowhere and arbitrary strings. _Any is a representation as a gateway sends it (an entity's
    __typename and id): malformed ones are a known bug (below); widen this once it is fixed."""
    known = st.sampled_from([ids[name] for name in sorted(ids)])  # by name: the lake draws new ids every run
    made_up = st.builds("{}_{}".format, st.sampled_from(["title", "asset", "seg", "ann", "run", "emb"]),
                        st.text(string.ascii_lowercase + string.digits, max_size=12))
    id_values = st.one_of(known, known, made_up, st.text(max_size=16))
    representation = st.builds(
        lambda typename, id_: nodes.Object([
            graphql.ObjectFieldNode(name=graphql.NameNode(value="__typename"), value=nodes.String(typename)),
            graphql.ObjectFieldNode(name=graphql.NameNode(value="id"), value=nodes.String(id_))]),
        st.sampled_from(["Asset", "Run", "Segment", "Title"]), id_values)
    return {"ID": id_values.map(nodes.String), "JSON": _json_values(), "_Any": representation}


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_server: LiveServer, fuzz_headers: dict[str, str]) -> Iterator[Any]:
    """The schema as the server introspects it, with strategies for its scalars (schemathesis keeps those global)."""
    url = fuzz_server.url + "/graphql"
    scalars = _scalars(seed(url, fuzz_headers))
    saved = {name: CUSTOM_SCALARS[name] for name in scalars if name in CUSTOM_SCALARS}
    for name, strategy in scalars.items():
        schemathesis.graphql.scalar(name, strategy)
    yield schemathesis.graphql.from_url(url, headers=fuzz_headers, timeout=REQUEST_TIMEOUT)
    for name in scalars:
        CUSTOM_SCALARS.pop(name, None)
    CUSTOM_SCALARS.update(saved)


def fuzz(operation: Any, mode: schemathesis.GenerationMode, examples: int,
         check: Callable[[schemathesis.Case], None]) -> None:
    # derandomize: the same documents on every run; no shrinking: check() collects instead of raising,
    # so one run reports every failing case and the request count stays bounded
    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        check(case)

    run()


def test_every_root_field_is_fuzzed(fuzz_schema: Any) -> None:
    served = [f"{root}.{name}" for root in ("Mutation", "Query") for name in fuzz_schema[root]]
    assert sorted(served) == sorted(root_fields())


@pytest.mark.parametrize("field", root_fields())
def test_fuzzed_documents_get_answers_that_fit_the_schema(
        field: str, fuzz_schema: Any, fuzz_headers: dict[str, str]) -> None:
    root, name = field.split(".")
    operation = fuzz_schema[root][name]
    client_schema = fuzz_schema.client_schema
    findings: list[str] = []
    sent = 0

    def check(case: schemathesis.Case) -> None:
        nonlocal sent
        sent += 1
        query = str(case.body)
        try:
            response = case.call(headers=fuzz_headers, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as exc:
            findings.append(f"{query}\n  -> no answer: {exc}")
            return
        found = []
        if response.status_code >= 500:
            found.append(f"HTTP {response.status_code}")
        try:
            found.extend(problems(client_schema, query, parse_body(response.text)))
        except ValueError as exc:
            found.append(f"not JSON: {exc}")
        if found:
            findings.append(f"{query}\n  -> HTTP {response.status_code} {response.text[:600]}\n  -> "
                            + "\n  -> ".join(found))

    fuzz(operation, schemathesis.GenerationMode.POSITIVE, POSITIVE_EXAMPLES, check)
    fuzz(operation, schemathesis.GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES, check)
    assert sent, f"no document was generated for {field}"
    assert not findings, f"{len(findings)} of {sent} answers for {field} break the contract:\n\n" + "\n\n".join(
        findings[:10])


# Found by this fuzzer (a representation is any JSON value to the schema, so a client can send these):
# strawberry.federation's entities_resolver pops __typename from each representation and calls
# resolve_reference(**representation), and the server masked what that raised as INTERNAL. The
# schema now checks each representation first and refuses it as INVALID_ARGUMENT.
MALFORMED_REPRESENTATIONS = {
    "no __typename": '{id: "asset_x"}',          # KeyError: '__typename'
    "not an object": '"asset_x"',                # AttributeError: 'str' object has no attribute 'pop'
    "a list": "[1]",                             # TypeError: 'str' object cannot be interpreted as an integer
    "an unknown type": '{__typename: "Nope", id: "x"}',
    "not an entity type": '{__typename: "Job", id: "x"}',   # TypeError: Unable to resolve reference for Job
    "without its key": '{__typename: "Asset"}',              # resolve_reference() missing 'id'
    "with a field beyond its key": '{__typename: "Asset", id: "x", extra: 1}',  # unexpected keyword 'extra'
}


@pytest.mark.parametrize("representation", MALFORMED_REPRESENTATIONS.values(), ids=MALFORMED_REPRESENTATIONS.keys())
def test_malformed_entity_representations_are_refused_as_client_input(
        representation: str, fuzz_schema: Any, fuzz_server: LiveServer, fuzz_headers: dict[str, str]) -> None:
    query = f"{{ _entities(representations: [{representation}]) {{ __typename }} }}"
    response = httpx.post(fuzz_server.url + "/graphql", json={"query": query}, headers=fuzz_headers,
                          timeout=REQUEST_TIMEOUT)
    body = parse_body(response.text)
    assert response.status_code < 500 and not problems(fuzz_schema.client_schema, query, body), body
    assert {e["extensions"]["code"] for e in body.get("errors", [])} <= {"BAD_USER_INPUT", "INVALID_ARGUMENT"}, body
    assert body.get("errors"), body


CHECKER_SDL = """
scalar Long
scalar DateTime
interface Node { id: ID! }
type Title implements Node { id: ID! name: String! year: Int size: Long at: DateTime kind: Kind tags: [String!]! }
type Run implements Node { id: ID! ok: Boolean! }
union Entity = Title | Run
enum Kind { MOVIE SERIES }
type Query { title: Title node: Node entities: [Entity]! }
"""
CHECKER_QUERY = "{ title { id name year size at kind tags } node { id ... on Run { ok } } entities { ... on Run { ok } } }"
FITTING = {"title": {"id": "title_1", "name": "N", "year": 2024, "size": 2**40, "at": "2026-12-03T08:00:00+00:00",
                     "kind": "MOVIE", "tags": ["a"]}, "node": {"id": "run_1", "ok": True}, "entities": [{"ok": False}, None]}


@pytest.mark.parametrize(("change", "expected"), [
    ({}, None),
    ({"title": None}, None),
    ({"title": {**FITTING["title"], "name": None}}, "data.title.name: null where the schema says String!"),
    ({"title": {**FITTING["title"], "year": 2**31}}, "data.title.year: 2147483648 is not a Int"),
    ({"title": {**FITTING["title"], "year": True}}, "data.title.year: true is not a Int"),
    ({"title": {**FITTING["title"], "size": 1.5}}, "data.title.size: 1.5 is not a Long"),
    ({"title": {**FITTING["title"], "at": "yesterday"}}, 'data.title.at: "yesterday" is not a DateTime'),
    ({"title": {**FITTING["title"], "kind": "OPERA"}}, 'data.title.kind: "OPERA" is not a Kind value'),
    ({"title": {**FITTING["title"], "tags": ["a", None]}}, "data.title.tags[1]: null where the schema says String!"),
    ({"title": {k: v for k, v in FITTING["title"].items() if k != "kind"}}, "data.title: Title without the requested"),
    ({"title": {**FITTING["title"], "secret": 1}}, "data.title: Title with keys nobody asked for ['secret']"),
    ({"node": {"id": "run_1", "ok": "yes"}}, "data.node: fits no possible type of Node"),
    ({"entities": None}, "data.entities: null where the schema says [Entity]!"),
])
def test_the_checker_sees_data_that_does_not_fit(change: dict[str, Any], expected: str | None) -> None:
    found = problems(graphql.build_schema(CHECKER_SDL), CHECKER_QUERY, {"data": {**FITTING, **change}})
    assert (found == []) if expected is None else (len(found) == 1 and found[0].startswith(expected)), found


@pytest.mark.parametrize(("payload", "expected"), [
    ({"data": None, "errors": [{"message": "no", "extensions": {"code": "NOT_FOUND"}}]}, None),
    ({"errors": [{"message": "no"}]}, "errors[0]: no extensions.code"),
    ({"errors": [{"message": "boom", "extensions": {"code": "INTERNAL"}}]}, "errors[0]: INTERNAL"),
    ({"errors": []}, "errors is [], not a non-empty list"),
    ({"data": None}, "data is null without an error saying why"),
    ([], "the body is a list, not a JSON object"),
])
def test_the_checker_sees_errors_that_break_the_contract(payload: Any, expected: str | None) -> None:
    found = problems(graphql.build_schema(CHECKER_SDL), CHECKER_QUERY, payload)
    assert (found == []) if expected is None else (len(found) == 1 and found[0].startswith(expected)), found


def test_the_checker_refuses_nan_which_json_has_not() -> None:
    with pytest.raises(ValueError, match="NaN is not JSON"):
        parse_body('{"data": {"score": NaN}}')


def test_the_fuzzed_server_runs_with_auth_on(fuzz_server: LiveServer) -> None:
    anonymous = httpx.post(fuzz_server.url + "/graphql", json={"query": "{ __typename }"}, timeout=REQUEST_TIMEOUT)
    assert anonymous.status_code == 401 and anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

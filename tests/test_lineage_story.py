"""The lineage story end to end over real HTTP, real LanceDB throughout: register a source, derive a
proxy, frames and embeddings; ask for provenance and impact; re-deliver the source and watch every
derivative turn stale with a recompute plan in order; then record the same with openlineage-python."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import LiveServer, checksum


def gql(server: LiveServer, query: str, variables: dict | None = None) -> dict:
    result = httpx.post(server.url + "/graphql", json={"query": query, "variables": variables or {}},
                        timeout=30).json()
    assert not result.get("errors"), result["errors"]
    return result["data"]


def gql_error(server: LiveServer, query: str, variables: dict | None = None) -> dict:
    result = httpx.post(server.url + "/graphql", json={"query": query, "variables": variables or {}},
                        timeout=30).json()
    assert result.get("errors"), result
    return result["errors"][0]


NAMESPACE = "mediagraph-tests"
RECORD = """mutation($r: RunInput!) { recordRun(input: $r) { id status jobVersion job { name version }
  inputs { id } outputs { edges { node { id role producedBy { id } } } } } }"""


def _run(server: LiveServer, name: str, inputs: list[str], outputs: list[dict], **extra: object) -> dict:
    return gql(server, RECORD, {"r": {"job": {"namespace": NAMESPACE, "name": name, "version": "1.0"},
                                      "inputs": inputs, "outputs": outputs,
                                      "parameters": {"step": name}, **extra}})["recordRun"]


def _out(title: str, role: str, media: str, uri: str) -> dict:
    return {"titleId": title, "mediaType": media, "role": role, "uri": uri, "checksum": checksum(uri)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(str(tmp_path_factory.mktemp("story") / "lake"))
    yield live
    live.stop()


@pytest.fixture
def story(server: LiveServer) -> dict:
    """A fresh title with its own source, uris and job names, so tests sharing the server stay independent."""
    n = uuid.uuid4().hex[:8]
    title = gql(server, 'mutation($n: String!) { createTitle(input: {name: $n, kind: MOVIE}) { id } }',
                {"n": f"The Long Tide {n}"})["createTitle"]["id"]
    base = f"s3://studio/{n}"
    [source] = gql(server, "mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id } }",
                   {"i": [{"titleId": title, "mediaType": "VIDEO", "role": "source", "uri": f"{base}/tide.mov",
                           "checksum": checksum("cut 1"), "externalId": f"tide-source-{n}"}]})["registerAssets"]
    proxy_run = _run(server, f"proxy-{n}", [source["id"]], [_out(title, "proxy", "VIDEO", f"{base}/tide-proxy.mp4")])
    proxy = proxy_run["outputs"]["edges"][0]["node"]["id"]
    frames_run = _run(server, f"frames-{n}", [proxy],
                      [_out(title, "frame", "IMAGE", f"{base}/frames/{i}.jpg") for i in range(3)])
    frames = [e["node"]["id"] for e in frames_run["outputs"]["edges"]]
    embed_run = _run(server, f"frame-embeddings-{n}", frames,
                     [_out(title, "embedding-table", "TEXT", f"{base}/frames.lance.json")])
    return {"server": server, "n": n, "base": base, "title": title, "source": source["id"], "proxy": proxy,
            "frames": frames, "embeddings": embed_run["outputs"]["edges"][0]["node"]["id"],
            "runs": [proxy_run["id"], frames_run["id"], embed_run["id"]]}


def test_derived_assets_know_how_they_were_made(story: dict) -> None:
    server = story["server"]
    asset = gql(server, "query($id: ID!) { asset(id: $id) { producedBy { id job { name } jobVersion parameters } "
                        "derivedFrom { id } stale } }", {"id": story["frames"][0]})["asset"]
    assert asset["producedBy"]["job"]["name"] == f"frames-{story['n']}"
    assert asset["producedBy"]["parameters"] == {"step": f"frames-{story['n']}"}
    assert asset["derivedFrom"] == [{"id": story["proxy"]}]
    assert asset["stale"] is False
    source = gql(server, "query($id: ID!) { asset(id: $id) { producedBy { id } derivatives { edges { node { id } } } }"
                         " }", {"id": story["source"]})["asset"]
    assert source["producedBy"] is None
    assert [e["node"]["id"] for e in source["derivatives"]["edges"]] == [story["proxy"]]


def test_provenance_is_the_recipe_in_topological_order(story: dict) -> None:
    data = gql(story["server"], "query($id: ID!) { provenance(id: $id) { sources { id } steps { run { id } "
                                "job { name } jobVersion parameters inputs { asset { id } version } "
                                "outputs { id } } } }", {"id": story["embeddings"]})["provenance"]
    assert data["sources"] == [{"id": story["source"]}]
    n = story["n"]
    assert [s["job"]["name"] for s in data["steps"]] == [f"proxy-{n}", f"frames-{n}", f"frame-embeddings-{n}"]
    assert data["steps"][0]["inputs"] == [{"asset": {"id": story["source"]}, "version": 1}]
    assert data["steps"][1]["parameters"] == {"step": f"frames-{n}"}


def test_lineage_graph_has_degrees_and_is_bounded(story: dict) -> None:
    server = story["server"]
    full = gql(server, "query($id: ID!) { lineage(id: $id, direction: DOWNSTREAM) { root isPartial "
                       "nodes { degree entity { __typename ... on Asset { id } ... on Run { id } } } "
                       "edges { from to } } }", {"id": story["source"]})["lineage"]
    assert full["isPartial"] is False
    degrees = {n["entity"]["id"]: n["degree"] for n in full["nodes"]}
    assert degrees[story["source"]] == 0 and degrees[story["runs"][0]] == 1 and degrees[story["proxy"]] == 2
    assert degrees[story["embeddings"]] == 6
    assert {"from": story["source"], "to": story["runs"][0]} in full["edges"]
    cut = gql(server, "query($id: ID!) { lineage(id: $id, direction: DOWNSTREAM, maxDepth: 2) { isPartial "
                      "nodes { degree } } }", {"id": story["source"]})["lineage"]
    assert cut["isPartial"] is True and max(n["degree"] for n in cut["nodes"]) == 2
    error = gql_error(server, "query($id: ID!) { lineage(id: $id, maxDepth: 100000) { root } }",
                      {"id": story["source"]})
    assert error["extensions"]["code"] == "INVALID_ARGUMENT"


def test_impact_lists_everything_downstream(story: dict) -> None:
    data = gql(story["server"], "query($id: ID!) { impact(id: $id) { edges { node { id } } } "
                                "impactGroups(id: $id) { role assets { id } } }", {"id": story["source"]})
    assert {e["node"]["id"] for e in data["impact"]["edges"]} == {story["proxy"], *story["frames"],
                                                                   story["embeddings"]}
    assert sorted(g["role"] for g in data["impactGroups"]) == ["embedding-table", "frame", "proxy"]


def test_redelivering_the_source_makes_every_derivative_stale(story: dict) -> None:
    server = story["server"]
    [source] = gql(server, "mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id version } }",
                   {"i": [{"titleId": story["title"], "mediaType": "VIDEO", "role": "source",
                           "uri": f"{story['base']}/tide.mov", "checksum": checksum("cut 2"),
                           "externalId": f"tide-source-{story['n']}"}]})["registerAssets"]
    assert source == {"id": story["source"], "version": 2}
    stale = gql(server, "query($id: ID!) { staleAssets(root: $id) { asset { id } reasons } }",
                {"id": story["source"]})["staleAssets"]
    assert {s["asset"]["id"] for s in stale} == {story["proxy"], *story["frames"], story["embeddings"]}
    proxy_reasons = next(s["reasons"] for s in stale if s["asset"]["id"] == story["proxy"])
    assert any("version 2" in r for r in proxy_reasons)
    plan = gql(server, "query($ids: [ID!]) { recomputePlan(ids: $ids) { id job { name } } }",
               {"ids": [story["embeddings"]]})["recomputePlan"]
    n = story["n"]
    assert [r["job"]["name"] for r in plan] == [f"proxy-{n}", f"frames-{n}", f"frame-embeddings-{n}"]
    assert gql(server, "query($id: ID!) { asset(id: $id) { stale } }", {"id": story["embeddings"]})["asset"]["stale"]


def test_a_new_job_version_makes_its_outputs_stale(story: dict) -> None:
    server = story["server"]
    job = gql(server, 'mutation($name: String!) { setJobVersion(namespace: "mediagraph-tests", name: $name, '
                      'version: "2.0") { name version } }', {"name": f"frames-{story['n']}"})["setJobVersion"]
    assert job == {"name": f"frames-{story['n']}", "version": "2.0"}
    stale = {s["asset"]["id"] for s in gql(server, "query($id: ID!) { staleAssets(root: $id) { asset { id } } }",
                                           {"id": story["source"]})["staleAssets"]}
    assert stale == {*story["frames"], story["embeddings"]}


def test_bad_runs_are_refused_and_write_nothing(story: dict) -> None:
    server = story["server"]
    before = gql(server, "{ jobs { name } }")["jobs"]
    unknown = gql_error(server, RECORD, {"r": {"job": {"namespace": "n", "name": "x"}, "inputs": ["asset_nope"],
                                               "outputs": [_out(story["title"], "proxy", "VIDEO", "s3://x.mp4")]}})
    assert unknown["extensions"]["code"] == "NOT_FOUND" and "asset_nope" in unknown["message"]
    backwards = gql_error(server, RECORD, {"r": {"job": {"namespace": "n", "name": "x"},
                                                 "inputs": [story["source"]], "outputs": [],
                                                 "startedAt": "2026-01-02T00:00:00Z",
                                                 "endedAt": "2026-01-01T00:00:00Z"}})
    assert backwards["extensions"]["code"] == "INVALID_ARGUMENT"
    assert gql(server, "{ jobs { name } }")["jobs"] == before
    titles = gql(server, "query($id: ID!) { title(id: $id) { assets { edges { node { uri } } } } }",
                 {"id": story["title"]})["title"]["assets"]["edges"]
    assert "s3://x.mp4" not in {e["node"]["uri"] for e in titles}


def test_idempotency_key_returns_the_first_run(story: dict) -> None:
    server = story["server"]
    first = _run(server, "thumbs", [story["proxy"]], [_out(story["title"], "thumb", "IMAGE", "s3://t.jpg")],
                 idempotencyKey="thumbs-1")
    again = _run(server, "thumbs", [story["proxy"]], [_out(story["title"], "thumb", "IMAGE", "s3://t.jpg")],
                 idempotencyKey="thumbs-1")
    assert again["id"] == first["id"]
    thumbs = gql(server, 'query($id: ID!) { title(id: $id) { assets(role: "thumb") { edges { node { id } } } } }',
                 {"id": story["title"]})["title"]["assets"]["edges"]
    assert len(thumbs) == 1


def test_openlineage_python_client_records_runs(story: dict) -> None:
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    server = story["server"]
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(url=server.url, endpoint="api/v1/lineage")))
    run_id = str(uuid.uuid4())
    job = Job(namespace="studio-pipelines", name="audio-stems")
    source = InputDataset(namespace="s3://studio", name=f"{story['n']}/tide.mov")
    stem = OutputDataset(namespace="s3://studio", name=f"{story['n']}/stems/tide-dialogue.wav")
    now = datetime.now(UTC).isoformat()
    client.emit(RunEvent(eventType=RunState.START, eventTime=now, run=Run(runId=run_id), job=job,
                         producer="https://example.com/pipelines", inputs=[source], outputs=[]))
    client.emit(RunEvent(eventType=RunState.COMPLETE, eventTime=now, run=Run(runId=run_id), job=job,
                         producer="https://example.com/pipelines", inputs=[source], outputs=[stem]))
    exported = httpx.get(f"{server.url}/api/v1/lineage/runs/{run_id}").json()
    assert exported["eventType"] == "COMPLETE" and exported["run"]["runId"] == run_id
    assert [d["name"] for d in exported["outputs"]] == [f"{story['n']}/stems/tide-dialogue.wav"]
    stems = gql(server, 'query($id: ID!) { title(id: $id) { assets(role: "derived", mediaType: AUDIO) '
                        '{ edges { node { uri producedBy { status job { namespace name } } derivedFrom { id } } } } } }',
                {"id": story["title"]})["title"]["assets"]["edges"]
    assert len(stems) == 1
    node = stems[0]["node"]
    assert node["uri"] == f"{story['base']}/stems/tide-dialogue.wav"
    assert node["producedBy"] == {"status": "COMPLETED", "job": {"namespace": "studio-pipelines",
                                                                 "name": "audio-stems"}}
    assert node["derivedFrom"] == [{"id": story["source"]}]


def test_openlineage_events_with_unknown_inputs_or_bad_shape_are_refused(story: dict) -> None:
    server = story["server"]
    event = {"eventType": "COMPLETE", "eventTime": "2026-11-26T10:00:00Z", "producer": "https://example.com/p",
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
             "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "n", "name": "j"},
             "inputs": [{"namespace": "s3://studio", "name": "never-registered.mov"}],
             "outputs": [{"namespace": "s3://studio", "name": f"{story['n']}/out.mp4"}]}
    response = httpx.post(server.url + "/api/v1/lineage", json=event)
    assert response.status_code == 404
    assert "never-registered.mov" in response.json()["error"]["message"]
    malformed = httpx.post(server.url + "/api/v1/lineage", json={**event, "run": {}})
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "INVALID_EVENT"
    assert httpx.post(server.url + "/api/v1/lineage", content=b"{nope").status_code == 400
    titles = gql(server, "query($id: ID!) { title(id: $id) { assets { edges { node { uri } } } } }",
                 {"id": story["title"]})["title"]["assets"]["edges"]
    assert f"{story['base']}/out.mp4" not in {e["node"]["uri"] for e in titles}


def test_recomputing_a_stale_derivative_makes_a_new_version_of_it(story: dict) -> None:
    server, n, base = story["server"], story["n"], story["base"]
    src = gql(server, "mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id } }",
              {"i": [{"titleId": story["title"], "mediaType": "VIDEO", "role": "source", "uri": f"{base}/b.mov",
                      "checksum": checksum("b1"), "externalId": f"b-source-{n}"}]})["registerAssets"][0]["id"]
    proxy_out = {**_out(story["title"], "proxy", "VIDEO", f"{base}/b-proxy.mp4"), "externalId": f"b-proxy-{n}"}
    first = _run(server, f"bproxy-{n}", [src], [proxy_out])
    proxy = first["outputs"]["edges"][0]["node"]["id"]
    thumbs = _run(server, f"bthumb-{n}", [proxy], [_out(story["title"], "thumb", "IMAGE", f"{base}/b.jpg")])
    thumb = thumbs["outputs"]["edges"][0]["node"]["id"]
    gql(server, "mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id } }",
        {"i": [{"titleId": story["title"], "mediaType": "VIDEO", "role": "source", "uri": f"{base}/b.mov",
                "checksum": checksum("b2"), "externalId": f"b-source-{n}"}]})
    again = _run(server, f"bproxy-{n}", [src], [{**proxy_out, "checksum": checksum("proxy of b2")}])
    assert again["outputs"]["edges"][0]["node"]["id"] == proxy  # the same asset, a new version
    data = gql(server, "query($p: ID!, $t: ID!) { p: asset(id: $p) { version stale producedBy { id } "
                       "versions { version } } t: asset(id: $t) { stale } }", {"p": proxy, "t": thumb})
    assert data["p"]["version"] == 2 and data["p"]["producedBy"]["id"] == again["id"]
    assert data["p"]["stale"] is False
    assert data["t"]["stale"] is True  # the thumbnail was made from proxy version 1
    plan = gql(server, "query($ids: [ID!]) { recomputePlan(ids: $ids) { id } }", {"ids": [thumb]})["recomputePlan"]
    assert [r["id"] for r in plan] == [thumbs["id"]]

"""Two ``mediagraph serve`` replicas on one S3 lake (real processes, auth on): a write through one is seen
through the other within the read-consistency interval, its lineage, search hits, events (a subscriber on
the other replica) and a token revocation included; concurrent writers through both lose and duplicate nothing."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.replicas.conftest import INTERVAL
from tests.replicas.writers import Client, concurrent_writes, create_token, lost_and_duplicated, mediagraph
from tests.s3 import SeaweedS3

pytestmark = pytest.mark.s3

# what a busy 2-core CI machine adds on top of the interval before the other replica answers
SLACK = 10.0


def seen_within(seconds: float, probe: Callable[[], Any]) -> tuple[Any, float]:
    """The first truthy answer of ``probe`` and how long it took; fails after ``seconds``."""
    started = time.perf_counter()
    while True:
        answer = probe()
        waited = time.perf_counter() - started
        if answer:
            return answer, waited
        assert waited < seconds, f"not seen within {seconds:g} s"
        time.sleep(0.1)


def test_a_write_through_one_replica_is_seen_through_the_other_with_lineage_and_search(
        replicas: dict[str, Any]) -> None:
    a, b = (Client(s.url, replicas["token"]) for s in replicas["servers"])
    title = a.call("mutation($i: TitleInput!) { createTitle(input: $i) { id } }",
                   {"i": {"name": "Lighthouse", "kind": "MOVIE"}})["createTitle"]["id"]
    [source] = a.call("mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id } }", {"i": [
        {"titleId": title, "mediaType": "VIDEO", "role": "source", "uri": "s3://studio/lighthouse.mov"}]}
    )["registerAssets"]
    run = a.call("mutation($i: RunInput!) { recordRun(input: $i) { id outputs { edges { node { id } } } } }", {"i": {
        "job": {"namespace": "replicas", "name": "proxy", "version": "1"}, "inputs": [source["id"]],
        "outputs": [{"titleId": title, "mediaType": "VIDEO", "role": "proxy", "uri": "s3://studio/lh.mp4"}]}}
    )["recordRun"]
    proxy = run["outputs"]["edges"][0]["node"]["id"]
    a.call("mutation($i: [SegmentInput!]!) { addSegments(input: $i) { id } }", {"i": [
        {"assetId": source["id"], "kind": "DIALOGUE", "start": 1.0, "end": 2.0, "text": "the keeper lights the lamp"}]})

    produced, waited = seen_within(INTERVAL + SLACK, lambda: b.call(
        "query($id: ID!) { asset(id: $id) { producedBy { id } } }", {"id": proxy})["asset"])
    assert produced["producedBy"]["id"] == run["id"]
    impact = b.call("query($id: ID!) { impact(id: $id) { edges { node { id } } } }", {"id": source["id"]})
    assert [e["node"]["id"] for e in impact["impact"]["edges"]] == [proxy]
    hits, _ = seen_within(INTERVAL + SLACK, lambda: b.call(
        'query { search(text: "keeper lamp", mode: TEXT) { asset { id } } }', {})["search"])
    assert [h["asset"]["id"] for h in hits] == [source["id"]]
    print(f"seen through the other replica after {waited:.2f} s (interval {INTERVAL:g} s)")
    a.close()
    b.close()


def test_a_token_revoked_through_the_command_is_refused_by_both_replicas(
        s3_server: SeaweedS3, replicas: dict[str, Any]) -> None:
    token_id, secret = create_token(s3_server, replicas["lake"], scopes="read")
    urls = [s.url + "/graphql" for s in replicas["servers"]]

    def status(url: str) -> int:
        return httpx.post(url, json={"query": "{ jobs { name } }"}, headers={"Authorization": f"Bearer {secret}"},
                          timeout=30).status_code

    for url in urls:
        seen_within(INTERVAL + SLACK, lambda url=url: status(url) == 200)
    revoked = mediagraph(s3_server, "token", "revoke", token_id, "--lake", replicas["lake"])
    assert revoked.returncode == 0, revoked.stderr
    for url in urls:
        seen_within(INTERVAL + SLACK, lambda url=url: status(url) == 401)


def test_concurrent_writers_through_two_replicas_lose_and_duplicate_nothing(
        s3_server: SeaweedS3, replicas: dict[str, Any]) -> None:
    urls = [s.url for s in replicas["servers"]]
    report = concurrent_writes(urls, replicas["token"], threads_per_replica=4, mutations=6)
    assert report.failures == []
    assert report.mutations == 2 * 4 * 6
    result = lost_and_duplicated(s3_server, replicas["lake"], report)
    assert result == {table: ([], []) for table in ("titles", "assets", "runs")}
    print(f"{report.mutations} mutations in {report.seconds:.1f} s, {report.retried} retried")



def test_a_subscriber_on_one_replica_gets_the_events_of_writes_through_the_other(
        replicas: dict[str, Any]) -> None:
    a = Client(replicas["servers"][0].url, replicas["token"])
    url = replicas["servers"][1].url.replace("http", "ws") + "/graphql"
    with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=30) as ws:
        ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {replicas['token']}"}}))
        assert json.loads(ws.recv(timeout=30))["type"] == "connection_ack"
        ws.send(json.dumps({"id": "e", "type": "subscribe", "payload": {
            "query": "subscription { events(kinds: [TITLE_CREATED, ASSET_REGISTERED]) { kind id title { id } } }"}}))

        def event_of(wanted: str, seconds: float) -> dict[str, Any] | None:
            deadline = time.perf_counter() + seconds
            while (left := deadline - time.perf_counter()) > 0:
                try:
                    message = json.loads(ws.recv(timeout=left))
                except TimeoutError:
                    return None
                assert message["type"] == "next", message
                event = message["payload"]["data"]["events"]
                if event["id"] == wanted:
                    return dict(event)
            return None

        # the feed delivers what is committed after the subscriber joined: write until a title's event arrives
        title = None
        for attempt in range(int((INTERVAL + SLACK) / 2) + 1):
            created = a.call("mutation($i: TitleInput!) { createTitle(input: $i) { id } }",
                             {"i": {"name": f"Events across replicas {attempt}", "kind": "MOVIE"}})["createTitle"]["id"]
            if event_of(created, 2.0) is not None:
                title = created
                break
        assert title is not None, "no TITLE_CREATED written through replica A reached the subscriber on B"
        started = time.perf_counter()
        [asset] = a.call("mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id } }", {"i": [
            {"titleId": title, "mediaType": "VIDEO", "role": "source", "uri": "s3://studio/events.mov"}]}
        )["registerAssets"]
        event = event_of(asset["id"], INTERVAL + SLACK)
        assert event == {"kind": "ASSET_REGISTERED", "id": asset["id"], "title": {"id": title}}
        print(f"an event of a write through replica A reached a subscriber on B in {time.perf_counter() - started:.2f} s")
    a.close()

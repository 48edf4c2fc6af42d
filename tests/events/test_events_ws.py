"""Live events over graphql-transport-ws against a real uvicorn with two workers and auth on, through a
real websocket client: every kind after its mutation, the kinds and titleIds filters, writes made
from outside the server (the Python Lake API in this process) arriving over the socket, and the
entitlement rule (no token refused; an unentitled token gets public events and nothing of a
restricted title)."""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import opentimelineio as otio
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from graph_api.lake import Lake
from graph_api.lake.events import EVENT_KINDS
from graph_api.lake.tokens import open_tokens
from graph_api.schema.subscription import EventKind
from tests.conftest import LiveServer, checksum

EVENTS = "subscription($t: [ID!], $k: [EventKind!]) { events(titleIds: $t, kinds: $k) { kind id at title { id } } }"
BARRIER = "subscription { events(kinds: [TITLE_CREATED]) { id } }"
WAIT = 20.0  # seconds an expected event may take on a loaded CI machine (it takes ~0.2 s: README)


@dataclass
class Server:
    live: LiveServer
    lake_dir: str
    admin: str  # read, write, every title
    public: str  # read, no grants: restricted titles do not exist for it
    write_only: str
    lake: Lake = field(init=False)

    def __post_init__(self) -> None:
        self.lake = Lake(self.lake_dir, background_compaction=False)

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(self.live.url + "/graphql", json={"query": query, "variables": variables or {}},
                              headers={"Authorization": f"Bearer {self.admin}"}, timeout=60)
        body = response.json()
        assert response.status_code == 200 and not body.get("errors"), body
        return body["data"]

    def title(self, name: str, **fields: Any) -> str:
        title: str = self.data("mutation($i: TitleInput!) { createTitle(input: $i) { id } }",
                               {"i": {"name": name, "kind": "MOVIE", **fields}})["createTitle"]["id"]
        return title

    def asset(self, title_id: str, role: str = "source") -> dict[str, Any]:
        n = uuid.uuid4().hex[:8]
        given = {"titleId": title_id, "mediaType": "VIDEO", "role": role, "uri": f"s3://studio/{n}/{role}.mov",
                 "checksum": checksum(n), "durationSeconds": 60.0}
        [row] = self.data("mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id } }",
                          {"i": [given]})["registerAssets"]
        return {**given, "id": row["id"]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    lake_dir = str(tmp_path_factory.mktemp("events") / "lake")
    tokens = open_tokens(Lake(lake_dir, background_compaction=False).connection)
    admin = tokens.create("admin", ["read", "write"], all_titles=True)[1]
    public = tokens.create("public", ["read"])[1]
    write_only = tokens.create("writer", ["write"])[1]
    live = LiveServer(lake_dir, ["--auth", "on", "--workers", "2"], startup_seconds=180)
    try:
        yield Server(live, lake_dir, admin, public, write_only)
    finally:
        live.stop()


class Socket:
    """One graphql-transport-ws connection carrying one subscription under test (id "s")."""

    def __init__(self, server: Server, token: str | None, query: str = EVENTS,
                 variables: dict[str, Any] | None = None) -> None:
        self.server = server
        self._connecting = connect(server.live.url.replace("http", "ws") + "/graphql",
                                   subprotocols=["graphql-transport-ws"], open_timeout=30)
        self.ws: ClientConnection = self._connecting.__enter__()
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        self.ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        self.events: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.query, self.variables = query, variables or {}

    def ack(self) -> dict[str, Any]:
        return json.loads(self.ws.recv(timeout=WAIT))

    def subscribe(self) -> Socket:
        assert self.ack()["type"] == "connection_ack"
        self.ws.send(json.dumps({"id": "s", "type": "subscribe",
                                 "payload": {"query": self.query, "variables": self.variables}}))
        # a second subscription on the socket tells when the first has joined the feed: a title created
        # from this process (the Python Lake API, not the server) must reach it
        self.ws.send(json.dumps({"id": "barrier", "type": "subscribe", "payload": {"query": BARRIER}}))
        deadline = time.time() + WAIT
        while time.time() < deadline:
            self.server.lake.titles.create([{"name": f"barrier {uuid.uuid4().hex[:6]}", "kind": "OTHER"}])
            # any barrier event says it joined: the feed delivers only what was committed after a join
            if self._wait(lambda m: m.get("id") == "barrier", 1.0):
                return self
        raise AssertionError(f"the subscription never joined: {self.messages}")

    def _wait(self, done: Callable[[dict[str, Any]], bool], seconds: float) -> bool:
        deadline = time.time() + seconds
        while (left := deadline - time.time()) > 0:
            try:
                message = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                return False
            self.messages.append(message)
            if message.get("id") == "s":
                assert message["type"] == "next" and not message["payload"].get("errors"), message
                self.events.append(_event(message))
            if done(message):
                return True
        return False

    def until(self, *wanted: tuple[str, str]) -> list[dict[str, Any]]:
        """Receive until every (kind, id) of ``wanted`` arrived on the subscription; its events so far."""
        def have() -> bool:
            return set(wanted) <= {(e["kind"], e["id"]) for e in self.events}
        if not have():
            assert self._wait(lambda m: have(), WAIT), f"missing {set(wanted)} among {self.events}"
        return self.events

    def close(self) -> None:
        self._connecting.__exit__(None, None, None)


def _event(message: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = message["payload"]["data"]["events"]
    return event


@pytest.fixture
def socket(server: Server) -> Iterator[Callable[..., Socket]]:
    opened: list[Socket] = []

    def open_(token: str | None = None, **variables: Any) -> Socket:
        s = Socket(server, server.admin if token is None else token, variables=variables)
        opened.append(s)
        return s.subscribe()

    yield open_
    for s in opened:
        s.close()


def _timeline(name: str, clips: list[tuple[str, float, float]]) -> str:
    timeline = otio.schema.Timeline(name=name)
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    for i, (uri, start, duration) in enumerate(clips):
        track.append(otio.schema.Clip(
            name=f"clip {i}", media_reference=otio.schema.ExternalReference(target_url=uri),
            source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(start * 24, 24),
                                                 otio.opentime.RationalTime(duration * 24, 24))))
    return str(otio.adapters.write_to_string(timeline, "otio_json"))


def test_the_event_kinds_are_the_lakes() -> None:
    assert tuple(k.value for k in EventKind) == EVENT_KINDS


def test_every_kind_of_write_reaches_a_subscriber_with_its_title(server: Server,
                                                                 socket: Callable[..., Socket]) -> None:
    sub = socket()
    title = server.title(f"Events {uuid.uuid4().hex[:6]}")
    source = server.asset(title)
    run = server.data("mutation($r: RunInput!) { recordRun(input: $r) { id outputs { edges { node { id } } } } }", {
        "r": {"job": {"namespace": "tests", "name": "proxy"}, "inputs": [source["id"]],
              "outputs": [{**{k: v for k, v in source.items() if k != "id"}, "role": "proxy",
                           "uri": source["uri"] + ".mp4", "checksum": checksum(source["uri"] + "proxy")}]}})["recordRun"]
    proxy = run["outputs"]["edges"][0]["node"]["id"]
    review = server.data('mutation($a: ID!) { reviewAsset(input: {assetId: $a, decision: APPROVED}) { id } }',
                         {"a": proxy})["reviewAsset"]["id"]
    [note] = server.data('mutation($a: ID!) { addNotes(input: [{assetId: $a, text: "grade", start: 1, end: 2}]) '
                         '{ id } }', {"a": proxy})["addNotes"]
    cut = server.data("mutation($i: CutInput!) { importCut(input: $i) { id } }", {"i": {
        "titleId": title, "name": "Cut", "otio": _timeline("Cut", [(source["uri"], 0, 4), (source["uri"], 10, 2)])}}
    )["importCut"]["id"]
    wanted = [("TITLE_CREATED", title), ("ASSET_REGISTERED", source["id"]), ("RUN_RECORDED", run["id"]),
              ("ASSET_REGISTERED", proxy), ("REVIEW_ADDED", review), ("NOTE_ADDED", note["id"]),
              ("CUT_IMPORTED", cut)]
    events = sub.until(*wanted)
    for kind, id_ in wanted:
        [event] = [e for e in events if (e["kind"], e["id"]) == (kind, id_)]
        assert event["title"] == {"id": title}, event
        assert event["at"].endswith("+00:00")
    # the cut's editorial run is an event of the title too
    assert any(e["kind"] == "RUN_RECORDED" and e["id"] != run["id"] and e["title"] == {"id": title} for e in events)


def test_kinds_and_title_filters_with_a_series_covering_its_episodes(server: Server,
                                                                     socket: Callable[..., Socket]) -> None:
    series = server.title(f"Series {uuid.uuid4().hex[:6]}", kind="SERIES")
    episode = server.title("Episode 1", kind="EPISODE", parentId=series)
    other = server.title("Elsewhere")
    by_title = socket(t=[series])
    by_kind = socket(k=["REVIEW_ADDED"])
    outside = server.asset(other)
    inside = server.asset(episode)
    review = server.data('mutation($a: ID!) { reviewAsset(input: {assetId: $a, decision: REJECTED}) { id } }',
                         {"a": outside["id"]})["reviewAsset"]["id"]
    last = server.asset(series)
    seen = by_title.until(("ASSET_REGISTERED", inside["id"]), ("ASSET_REGISTERED", last["id"]))
    assert all(e["title"]["id"] in (series, episode) for e in seen), seen
    assert outside["id"] not in {e["id"] for e in seen} and review not in {e["id"] for e in seen}
    kinds = by_kind.until(("REVIEW_ADDED", review))
    assert {e["kind"] for e in kinds} == {"REVIEW_ADDED"}


def test_writes_from_outside_the_server_arrive_on_every_worker(server: Server, socket: Callable[..., Socket]) -> None:
    # the feed reads what the lake committed: a write by this process (no worker saw it) reaches sockets on
    # both workers (several sockets: uvicorn spreads them)
    subs = [socket() for _ in range(3)]
    title = server.lake.titles.create([{"name": "From Python", "kind": "MOVIE"}])[0]["id"]
    [asset] = server.lake.assets.register([{"title_id": title, "media_type": "AUDIO", "role": "mix",
                                            "uri": "s3://studio/python/mix.wav", "checksum": checksum("mix")}])
    for sub in subs:
        sub.until(("TITLE_CREATED", title), ("ASSET_REGISTERED", asset["id"]))
    # which worker accepts a connection is the kernel's choice: ask until both answered (12 in a row once all hit one)
    pids: set[int] = set()
    for _ in range(300):
        pids.add(httpx.get(server.live.url + "/healthz", timeout=10).json()["pid"])
        if len(pids) == 2:
            break
    assert len(pids) == 2, "the server runs two workers"


def test_without_a_valid_read_token_the_socket_is_refused(server: Server) -> None:
    for token in (None, "mg_not-a-token", server.write_only):
        s = Socket(server, token or "")
        with pytest.raises(ConnectionClosed) as closed:
            s.ack()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403, token
        s.close()


def test_an_unentitled_subscriber_gets_public_events_and_nothing_of_a_restricted_title(
        server: Server, socket: Callable[..., Socket]) -> None:
    public_sub = socket(server.public)
    admin_sub = socket()
    secret = server.title(f"Vault {uuid.uuid4().hex[:6]}", restricted=True)
    secret_episode = server.title("Vault episode", kind="EPISODE", parentId=secret)
    hidden = server.asset(secret_episode)
    server.data('mutation($a: ID!) { reviewAsset(input: {assetId: $a, decision: APPROVED}) { id } }',
                {"a": hidden["id"]})
    # asked for by id, the restricted title yields nothing either
    asked = socket(server.public, t=[secret])
    opened = server.title("Open title")
    shown = server.asset(opened)
    events = public_sub.until(("TITLE_CREATED", opened), ("ASSET_REGISTERED", shown["id"]))
    admin_sub.until(("TITLE_CREATED", secret), ("ASSET_REGISTERED", hidden["id"]), ("ASSET_REGISTERED", shown["id"]))
    # everything of the vault was committed before the open title's asset, and so was delivered before it
    text = json.dumps(public_sub.messages) + json.dumps(asked.messages)
    for secret_id in (secret, secret_episode, hidden["id"]):
        assert secret_id not in text
    assert events and asked.events == []


def test_the_socket_runs_subscriptions_only_and_under_the_query_limits(server: Server) -> None:
    s = Socket(server, server.admin)
    assert s.ack()["type"] == "connection_ack"
    s.ws.send(json.dumps({"id": "m", "type": "subscribe", "payload": {
        "query": 'mutation { createTitle(input: {name: "over the socket", kind: MOVIE}) { id } }'}}))
    deep = "subscription { events { title { " + "parent { " * 20 + "id" + " }" * 20 + " } } }"
    s.ws.send(json.dumps({"id": "d", "type": "subscribe", "payload": {"query": deep}}))
    answers = {m["id"]: m for m in (json.loads(s.ws.recv(timeout=WAIT)) for _ in range(2))}
    assert answers["m"]["type"] == "error" and "not allowed" in answers["m"]["payload"][0]["message"]
    assert answers["d"]["type"] == "error" and answers["d"]["payload"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
    s.close()
    assert server.lake.titles.list(search="over the socket").num_rows == 0


def test_the_socket_log_line(server: Server) -> None:
    log = Path(server.live.log).read_text()
    assert '"method": "WEBSOCKET"' in log and '"path": "/graphql"' in log

"""Creative workflows over real HTTP against a real uvicorn, real LanceDB and lineage: reviews that
know their lineage (the stale-approval story), time-coded notes with drawings, cuts imported from
OpenTimelineIO, playlists. Every refused input is followed by a read of the lake itself."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import opentimelineio as otio
import pytest

from graph_api.lake import Lake
from tests.conftest import GraphQLClient, LiveServer, checksum


class Server(GraphQLClient):
    """The shared GraphQL client, over real HTTP to a real uvicorn, plus the lake it serves."""

    def __init__(self, live: LiveServer, lake_dir: str) -> None:
        super().__init__(httpx.Client(base_url=live.url, timeout=60))
        self.live = live
        self.lake_dir = lake_dir

    def lake(self) -> Lake:
        """The lake as written, read by this process (not through the server)."""
        return Lake(self.lake_dir, create=False, background_compaction=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    lake_dir = str(tmp_path_factory.mktemp("workflows") / "lake")
    live = LiveServer(lake_dir)
    yield Server(live, lake_dir)
    live.stop()


REGISTER = "mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id version } }"
RECORD = """mutation($r: RunInput!) { recordRun(input: $r) { id outputs { edges { node { id version } } } } }"""
REVIEW = """mutation($i: ReviewInput!) { reviewAsset(input: $i) { id version decision reviewer comment stale
  asset { id } } }"""
ADD_NOTES = """mutation($i: [NoteInput!]!) { addNotes(input: $i) { id version author text start end region
  resolved replyTo { id } } }"""
IMPORT_CUT = """mutation($i: CutInput!) { importCut(input: $i) { id name duration stale title { id }
  clips { name track recordStart recordEnd version sourceStart sourceEnd asset { id } } otio } }"""


@pytest.fixture
def story(server: Server) -> dict[str, Any]:
    """A fresh title with a delivered source (60 s) and a proxy derived from it."""
    n = uuid.uuid4().hex[:8]
    title = server.data('mutation($n: String!) { createTitle(input: {name: $n, kind: MOVIE}) { id } }',
                        {"n": f"Harbour {n}"})["createTitle"]["id"]
    base = f"s3://studio/{n}"
    source = {"titleId": title, "mediaType": "VIDEO", "role": "source", "uri": f"{base}/harbour.mov",
              "checksum": checksum(f"source 1 {n}"), "externalId": f"source-{n}", "durationSeconds": 60.0}
    [src] = server.data(REGISTER, {"i": [source]})["registerAssets"]
    proxy_out = {"titleId": title, "mediaType": "VIDEO", "role": "proxy", "uri": f"{base}/harbour-proxy.mp4",
                 "checksum": checksum(f"proxy 1 {n}"), "externalId": f"proxy-{n}", "durationSeconds": 60.0}
    run = server.data(RECORD, {"r": {"job": {"namespace": "tests", "name": f"proxy-{n}", "version": "1"},
                                     "inputs": [src["id"]], "outputs": [proxy_out]}})["recordRun"]
    proxy = run["outputs"]["edges"][0]["node"]["id"]
    return {"n": n, "title": title, "base": base, "source": src["id"], "source_input": source, "proxy": proxy,
            "proxy_out": proxy_out, "proxy_job": f"proxy-{n}"}


def _redeliver(server: Server, story: dict[str, Any], content: str) -> None:
    [again] = server.data(REGISTER, {"i": [{**story["source_input"], "checksum": checksum(content)}]})["registerAssets"]
    assert again["id"] == story["source"] and again["version"] >= 2


def _reviews(server: Server, title: str, **args: Any) -> list[dict[str, Any]]:
    data = server.data("""query($t: ID, $s: Boolean, $d: ReviewDecision) { reviews(titleId: $t, stale: $s, decision: $d)
      { edges { node { id version decision stale asset { id } } } } }""", {"t": title, **args})
    return [e["node"] for e in data["reviews"]["edges"]]


# --- 1. reviews: the stale-approval story ----------------------------------------------------------

def test_an_approval_turns_stale_when_its_source_is_redelivered_and_holds_again_after_rederiving(
        server: Server, story: dict[str, Any]) -> None:
    proxy = story["proxy"]
    first = server.data(REVIEW, {"i": {"assetId": proxy, "decision": "APPROVED", "comment": "grade looks right"}})
    review = first["reviewAsset"]
    assert review["id"].startswith("rev_") and review["version"] == 1 and review["reviewer"] == "local"
    assert review["decision"] == "APPROVED" and review["stale"] is False
    assert _reviews(server, story["title"], s=True) == []

    _redeliver(server, story, f"source 2 {story['n']}")
    seen = server.data("query($id: ID!) { asset(id: $id) { stale approval { id stale decision } } }",
                       {"id": proxy})["asset"]
    assert seen["stale"] is True
    assert seen["approval"] == {"id": review["id"], "stale": True, "decision": "APPROVED"}
    assert [r["id"] for r in _reviews(server, story["title"], s=True)] == [review["id"]]
    assert _reviews(server, story["title"], s=False) == []

    # re-derive: the proxy job reads source v2 and makes proxy v2
    again = server.data(RECORD, {"r": {"job": {"namespace": "tests", "name": story["proxy_job"], "version": "1"},
                                       "inputs": [story["source"]],
                                       "outputs": [{**story["proxy_out"], "checksum": checksum("proxy 2")}]}})
    assert again["recordRun"]["outputs"]["edges"][0]["node"] == {"id": proxy, "version": 2}
    # the old approval is of version 1, which is no longer current: still stale
    assert [r["id"] for r in _reviews(server, story["title"], s=True)] == [review["id"]]
    assert server.data("query($id: ID!) { asset(id: $id) { approval { id } } }", {"id": proxy})["asset"]["approval"] is None

    second = server.data(REVIEW, {"i": {"assetId": proxy, "decision": "APPROVED"}})["reviewAsset"]
    assert second["version"] == 2 and second["stale"] is False
    history = server.data("query($id: ID!) { asset(id: $id) { approval { id } reviews { edges { node { id version "
                          "stale } } } } }", {"id": proxy})["asset"]
    assert history["approval"] == {"id": second["id"]}
    assert [e["node"] for e in history["reviews"]["edges"]] == [
        {"id": review["id"], "version": 1, "stale": True}, {"id": second["id"], "version": 2, "stale": False}]
    assert [r["id"] for r in _reviews(server, story["title"], s=False)] == [second["id"]]
    node = server.data("query($id: ID!) { node(id: $id) { __typename id } }", {"id": second["id"]})["node"]
    assert node == {"__typename": "Review", "id": second["id"]}


def test_reviews_cover_a_series_and_its_episodes_and_filter_by_decision(server: Server) -> None:
    n = uuid.uuid4().hex[:8]
    series = server.data('mutation($n: String!) { createTitle(input: {name: $n, kind: SERIES}) { id } }',
                         {"n": f"Series {n}"})["createTitle"]["id"]
    episode = server.data('mutation($n: String!, $p: ID!) { createTitle(input: {name: $n, kind: EPISODE, '
                          'parentId: $p}) { id } }', {"n": f"Ep {n}", "p": series})["createTitle"]["id"]
    [asset] = server.data(REGISTER, {"i": [{"titleId": episode, "mediaType": "VIDEO", "role": "source",
                                             "uri": f"s3://studio/{n}/ep.mov", "checksum": checksum(n)}]})["registerAssets"]
    server.data(REVIEW, {"i": {"assetId": asset["id"], "decision": "CHANGES_REQUESTED", "comment": "too dark"}})
    assert [r["decision"] for r in _reviews(server, series)] == ["CHANGES_REQUESTED"]
    assert _reviews(server, series, d="APPROVED") == []


def test_a_refused_review_writes_nothing(server: Server, story: dict[str, Any]) -> None:
    before = server.lake().reviews.count()
    unknown = server.error(REVIEW, {"i": {"assetId": "asset_nope", "decision": "APPROVED"}})
    assert unknown["extensions"]["code"] == "NOT_FOUND"
    version = server.error(REVIEW, {"i": {"assetId": story["proxy"], "version": 7, "decision": "REJECTED"}})
    assert version["extensions"]["code"] == "NOT_FOUND" and "version 7" in version["message"]
    long = server.error(REVIEW, {"i": {"assetId": story["proxy"], "decision": "REJECTED", "comment": "x" * 10_001}})
    assert long["extensions"]["code"] == "INVALID_ARGUMENT"
    assert server.lake().reviews.count() == before


# --- 2. notes ----------------------------------------------------------------------------------------

RECT = {"shapes": [{"type": "rect", "x": 0.1, "y": 0.2, "w": 0.3, "h": 0.25, "color": "#ff0000"}]}


def test_notes_are_time_coded_drawn_threaded_and_resolved(server: Server, story: dict[str, Any]) -> None:
    source = story["source"]
    [note, whole] = server.data(ADD_NOTES, {"i": [
        {"assetId": source, "text": "boom in frame", "start": 12.5, "end": 14.0, "region": RECT},
        {"assetId": source, "text": "check the grade overall"}]})["addNotes"]
    assert note["id"].startswith("note_") and note["author"] == "local" and note["version"] == 1
    assert note["region"]["shapes"][0]["type"] == "rect" and note["resolved"] is False
    [reply] = server.data(ADD_NOTES, {"i": [{"assetId": source, "text": "fixed in v2", "start": 13.0,
                                             "replyTo": note["id"]}]})["addNotes"]
    assert reply["replyTo"] == {"id": note["id"]} and reply["end"] == 13.0

    window = "query($id: ID!, $f: Float, $t: Float, $r: Boolean, $all: Boolean) { asset(id: $id) { " \
             "notes(from: $f, to: $t, resolved: $r, allVersions: $all) { edges { node { id } } } } }"

    def notes(**args: Any) -> set[str]:
        # as a set: ids sort by creation only across milliseconds, and one batch shares one
        data = server.data(window, {"id": source, **args})
        return {e["node"]["id"] for e in data["asset"]["notes"]["edges"]}

    assert notes(f=0.0, t=5.0) == {whole["id"]}
    assert notes(f=13.5, t=20.0) == {note["id"], whole["id"]}  # the reply marks 13.0 only
    assert notes(f=12.0, t=13.0) == {note["id"], whole["id"], reply["id"]}
    assert notes(f=14.5, t=20.0) == {whole["id"]}
    resolved = server.data("mutation($id: ID!) { resolveNote(id: $id, resolved: true) { id resolved } }",
                           {"id": note["id"]})["resolveNote"]
    assert resolved == {"id": note["id"], "resolved": True}
    assert notes(r=False) == {whole["id"], reply["id"]}

    _redeliver(server, story, f"source notes {story['n']}")
    assert notes() == set()  # the notes were about version 1
    assert notes(all=True) == {note["id"], whole["id"], reply["id"]}


def test_a_bad_note_refuses_the_whole_batch(server: Server, story: dict[str, Any]) -> None:
    source, proxy = story["source"], story["proxy"]
    [other] = server.data(ADD_NOTES, {"i": [{"assetId": proxy, "text": "on the proxy"}]})["addNotes"]
    before = server.lake().notes.count()
    good = {"assetId": source, "text": "fine", "start": 1.0, "end": 2.0}
    cases = [
        ({"assetId": source, "text": "past the end", "start": 59.0, "end": 61.0}, "INVALID_ARGUMENT", "past the end"),
        ({"assetId": source, "text": "backwards", "start": 5.0, "end": 4.0}, "INVALID_ARGUMENT", "before start"),
        ({"assetId": source, "text": "cross thread", "replyTo": other["id"]}, "INVALID_ARGUMENT", "not"),
        ({"assetId": "asset_nope", "text": "who"}, "NOT_FOUND", "unknown asset"),
        ({"assetId": source, "text": "bad drawing", "region": {"shapes": [{"type": "rect", "x": 0.9, "y": 0.1,
                                                                           "w": 0.5, "h": 0.1}]}},
         "INVALID_ARGUMENT", "frame"),
        ({"assetId": source, "text": "unknown reply", "replyTo": "note_nope"}, "NOT_FOUND", "unknown note"),
    ]
    for bad, code, words in cases:
        error = server.error(ADD_NOTES, {"i": [good, bad]})
        assert error["extensions"]["code"] == code, (bad, error)
        assert words in error["message"] and "nothing was written" in error["message"], error["message"]
    assert server.lake().notes.count() == before
    missing = server.error("mutation { resolveNote(id: \"note_nope\", resolved: true) { id } }")
    assert missing["extensions"]["code"] == "NOT_FOUND"


# --- 3. cuts -----------------------------------------------------------------------------------------

def _timeline(clips: list[dict[str, Any]], name: str = "Episode cut") -> str:
    """An OTIO timeline of one video track: each clip names its media by uri or by asset id; a gap of
    one second sits between the first two clips."""
    timeline = otio.schema.Timeline(name=name)
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    for i, clip in enumerate(clips):
        ref = otio.schema.ExternalReference(target_url=clip.get("uri", "file:///unknown.mov"))
        if "asset_id" in clip:
            ref.metadata["mediagraph"] = {"assetId": clip["asset_id"]}
        rate = clip.get("rate", 24)
        track.append(otio.schema.Clip(
            name=clip["name"], media_reference=ref,
            source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(clip["start"] * rate, rate),
                                                 otio.opentime.RationalTime(clip["duration"] * rate, rate))))
        if i == 0:
            track.append(otio.schema.Gap(duration=otio.opentime.RationalTime(24, 24)))
    return otio.adapters.write_to_string(timeline, "otio_json")


def test_a_cut_imported_from_otio_knows_its_clips_and_turns_stale_on_redelivery(
        server: Server, story: dict[str, Any]) -> None:
    text = _timeline([{"name": "open", "uri": story["source_input"]["uri"], "start": 10, "duration": 4},
                      {"name": "proxy shot", "asset_id": story["proxy"], "start": 0, "duration": 2, "rate": 25}])
    cut = server.data(IMPORT_CUT, {"i": {"titleId": story["title"], "name": "Cut A", "otio": text}})["importCut"]
    assert cut["id"].startswith("cut_") and cut["name"] == "Cut A" and cut["title"] == {"id": story["title"]}
    assert cut["duration"] == pytest.approx(7.0) and cut["stale"] is False
    assert [(c["name"], c["track"], c["recordStart"], c["recordEnd"], c["sourceStart"], c["sourceEnd"],
             c["asset"]["id"], c["version"]) for c in cut["clips"]] == [
        ("open", "V1", 0.0, 4.0, 10.0, 14.0, story["source"], 1),
        ("proxy shot", "V1", 5.0, 7.0, 0.0, 2.0, story["proxy"], 1)]
    exported = otio.adapters.read_from_string(cut["otio"], "otio_json")
    assert [c.name for c in exported.find_clips()] == ["open", "proxy shot"]

    uses = server.data("query($id: ID!) { asset(id: $id) { cuts { edges { node { id } } } } }",
                       {"id": story["source"]})["asset"]["cuts"]["edges"]
    assert [e["node"]["id"] for e in uses] == [cut["id"]]
    # the cut is a lineage run of the editorial job whose inputs are its clips' assets
    [row] = server.lake().cuts.list(title_ids=[story["title"]]).to_pylist()
    assert row["run_id"] and row["asset_ids"] == [story["source"], story["proxy"]]
    run = server.data("query($id: ID!) { node(id: $id) { ... on Run { job { namespace name } inputs { id } } } }",
                      {"id": row["run_id"]})["node"]
    assert run == {"job": {"namespace": "editorial", "name": "cut-import"},
                   "inputs": [{"id": story["source"]}, {"id": story["proxy"]}]}

    downstream = server.data("""query($id: ID!) { lineage(id: $id, direction: DOWNSTREAM) {
      nodes { entity { __typename ... on Cut { id } } } } }""", {"id": story["source"]})["lineage"]["nodes"]
    assert {"__typename": "Cut", "id": cut["id"]} in [n["entity"] for n in downstream]

    # impact lists assets (its contract type); impactCuts is the cuts that impact reaches: a cut of only
    # the proxy is reached from the source through the proxy's run
    proxy_only = _timeline([{"name": "proxy only", "asset_id": story["proxy"], "start": 0, "duration": 1}])
    other = server.data(IMPORT_CUT, {"i": {"titleId": story["title"], "name": "Cut B", "otio": proxy_only}})["importCut"]
    impact = "query($id: ID!) { impact(id: $id) { edges { node { id } } } impactCuts(id: $id) { edges { node { id } } } }"
    reached = server.data(impact, {"id": story["source"]})
    assert [e["node"]["id"] for e in reached["impact"]["edges"]] == [story["proxy"]]
    assert [e["node"]["id"] for e in reached["impactCuts"]["edges"]] == [cut["id"], other["id"]]
    assert server.error(impact, {"id": "asset_nope"})["extensions"]["code"] == "NOT_FOUND"

    _redeliver(server, story, f"source cut {story['n']}")
    stale = "query($a: ID!, $b: ID!) { a: cut(id: $a) { stale } b: cut(id: $b) { stale } }"
    assert server.data(stale, {"a": cut["id"], "b": other["id"]}) == {"a": {"stale": True}, "b": {"stale": True}}


def test_a_refused_cut_names_the_clip_and_writes_nothing(server: Server, story: dict[str, Any]) -> None:
    before = server.lake().cuts.count()
    unresolved = _timeline([{"name": "good", "uri": story["source_input"]["uri"], "start": 0, "duration": 1},
                            {"name": "lost", "uri": "s3://nowhere/lost.mov", "start": 0, "duration": 1}])
    error = server.error(IMPORT_CUT, {"i": {"titleId": story["title"], "name": "x", "otio": unresolved}})
    assert "lost" in error["message"], error
    too_long = _timeline([{"name": "long", "uri": story["source_input"]["uri"], "start": 50, "duration": 20}])
    error = server.error(IMPORT_CUT, {"i": {"titleId": story["title"], "name": "x", "otio": too_long}})
    assert error["extensions"]["code"] == "INVALID_ARGUMENT" and "long" in error["message"], error
    error = server.error(IMPORT_CUT, {"i": {"titleId": story["title"], "name": "x", "otio": "{not json"}})
    assert error["extensions"]["code"] == "INVALID_ARGUMENT"
    error = server.error(IMPORT_CUT, {"i": {"titleId": "title_nope", "name": "x", "otio": too_long}})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert server.lake().cuts.count() == before


# --- 4. playlists ------------------------------------------------------------------------------------

def test_a_playlist_freezes_versions_and_shows_each_items_latest_review(server: Server, story: dict[str, Any]) -> None:
    review = server.data(REVIEW, {"i": {"assetId": story["source"], "decision": "REJECTED"}})["reviewAsset"]
    created = server.data("""mutation($i: PlaylistInput!) { createPlaylist(input: $i) { id name title { id }
      items { version asset { id } review { id decision } } } }""",
                          {"i": {"name": "Dailies", "titleId": story["title"],
                                 "assetIds": [story["source"], story["proxy"], story["source"]]}})["createPlaylist"]
    assert created["id"].startswith("pl_") and created["title"] == {"id": story["title"]}
    assert [(i["asset"]["id"], i["version"], i["review"]) for i in created["items"]] == [
        (story["source"], 1, {"id": review["id"], "decision": "REJECTED"}), (story["proxy"], 1, None),
        (story["source"], 1, {"id": review["id"], "decision": "REJECTED"})]
    _redeliver(server, story, f"source playlist {story['n']}")
    items = server.data("query($id: ID!) { playlist(id: $id) { items { version } } }",
                        {"id": created["id"]})["playlist"]["items"]
    assert [i["version"] for i in items] == [1, 1, 1]


def test_a_refused_playlist_writes_nothing(server: Server, story: dict[str, Any]) -> None:
    before = server.lake().playlists.count()
    create = "mutation($i: PlaylistInput!) { createPlaylist(input: $i) { id } }"
    error = server.error(create, {"i": {"name": "P", "assetIds": [story["source"], "asset_nope"]}})
    assert error["extensions"]["code"] == "NOT_FOUND" and "asset_nope" in error["message"]
    error = server.error(create, {"i": {"name": " ", "assetIds": [story["source"]]}})
    assert error["extensions"]["code"] == "INVALID_ARGUMENT"
    error = server.error(create, {"i": {"name": "P", "titleId": "title_nope", "assetIds": [story["source"]]}})
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert server.lake().playlists.count() == before
    assert json.dumps(server.data('{ playlist(id: "pl_nope") { id } }')) == '{"playlist": null}'

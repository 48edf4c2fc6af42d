"""The explorer (/explore) in a real browser: Debian's chromium, headless, driven by playwright, against a real
uvicorn on a small lake made by the real pipeline (one 3 s clip: proxy, shots, frames) plus a label.

One server and one browser page for the module; screenshots go to test-artifacts/explore/."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph_api.http.explore import DIST
from graph_api.lake import Lake
from graph_api.lake.tokens import open_tokens
from graph_api.media.synth import ClipSpec, Shot, palette, write_clip
from graph_api.pipeline.context import Context, Options
from graph_api.pipeline.derive import derive
from graph_api.pipeline.ingest import ingest
from graph_api.pipeline.progress import Silent
from graph_api.settings import Settings
from tests.conftest import LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "explore"
NOTE_QUERY = """query($id: ID!) { asset(id: $id) { notes(first: 50) { edges { node { text start region } } } } }"""


def gql(server: LiveServer, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body = httpx.post(server.url + "/graphql", json={"query": query, "variables": variables or {}}, timeout=60).json()
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not (DIST / "index.html").is_file():
        if shutil.which("node") is None:
            pytest.skip("node is not installed, so the explorer cannot be built (CI installs it: .ci/setup-node.sh)")
        pytest.fail("explore/dist is missing: run .ci/setup-explore.sh (npm ci && npm run build in explore/)")
    root = tmp_path_factory.mktemp("explore")
    lake_dir, media = root / "lake", root / "lake-media"  # the server's default media dir for this lake
    (media / "delivery").mkdir(parents=True)
    clip = media / "delivery" / "harbour.mp4"
    write_clip(clip, ClipSpec(width=160, height=90, fps=24, duration=3.0, cuts=[1.5], tone=None,
                              shots=[Shot("stripes", *palette(0)), Shot("checker", *palette(5))],
                              video_options={"preset": "ultrafast", "crf": "28"}))
    lake = Lake(str(lake_dir), background_compaction=False)
    series = lake.titles.create([{"name": "Harbour Tales", "kind": "SERIES"}])[0]
    film, _ = lake.titles.create([{"name": "Harbour Lights", "kind": "MOVIE", "release_year": 2025},
                                  {"name": "Episode One", "kind": "EPISODE", "parent_id": series["id"]}])
    ctx = Context.open(lake, Settings.load(env={}, lake=str(lake_dir)), media / "derived", reporter=Silent(),
                       options=Options(proxy_height=90, frame_interval=1.0, frame_height=90))
    ingest(ctx, [clip], film["id"])
    report = derive(ctx, film["id"], steps=["proxy", "shots", "frames"])
    assert report.ok, report.summary()
    assets = lake.assets.by_title([film["id"]])[film["id"]]
    source = next(a for a in assets if a["role"] == "source")
    proxy = next(a for a in assets if a["role"] == "proxy")
    server = LiveServer(str(lake_dir), startup_seconds=180)  # a busy 2-core CI machine starts slowly
    gql(server, """mutation($i: [AnnotationInput!]!) { addAnnotations(input: $i) { id } }""", {"i": [
        {"assetId": source["id"], "label": "smoking", "category": "compliance", "start": 1.6, "end": 2.8,
         "confidence": 0.9}]})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield {"server": server, "lake_dir": lake_dir, "film": film, "series": series, "source": source, "proxy": proxy, "lake": lake}
    server.stop()


@pytest.fixture(scope="module")
def page(world: dict[str, Any]) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (CI installs it: .ci/setup-browser.sh)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page
        browser.close()
        assert not errors, errors


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def open_asset(page: Any, world: dict[str, Any]) -> None:
    page.goto(f"{world['server'].url}/explore/#/asset/{world['source']['id']}")
    page.wait_for_selector("[data-testid=video]", timeout=20_000)


def test_titles_episodes_and_a_thumbnail_that_loads(page: Any, world: dict[str, Any]) -> None:
    page.goto(f"{world['server'].url}/explore/")
    titles = page.locator("[data-testid=title-list]")
    titles.get_by_text("Harbour Lights").wait_for(timeout=20_000)
    assert titles.get_by_text("Episode One").count() == 1  # under its series
    titles.get_by_text("Harbour Lights").click()
    card = page.locator(f"[data-asset='{world['source']['id']}']")
    card.wait_for(timeout=20_000)
    thumb = card.locator("img[data-testid=thumb]")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(), timeout=20_000, polling=100)
    assert thumb.evaluate("img => img.naturalWidth") == 160
    shot(page, "title")


def test_the_proxy_plays_over_its_shots_and_annotations(page: Any, world: dict[str, Any]) -> None:
    open_asset(page, world)
    video = page.locator("[data-testid=video]")
    assert world["proxy"]["id"] in video.get_attribute("src")
    page.wait_for_function("v => v.readyState >= 2", arg=video.element_handle(), timeout=20_000, polling=100)
    start = video.evaluate("v => { v.muted = true; return v.play().then(() => v.currentTime) }")
    page.wait_for_function(f"v => v.currentTime > {start} + 0.3", arg=video.element_handle(), timeout=20_000, polling=100)
    video.evaluate("v => v.pause()")
    assert page.locator("[data-testid=shots] button").count() == 2
    assert page.locator("[data-testid=annotations] [data-label=smoking]").count() == 1
    assert page.locator("[data-testid=frame]").count() >= 3
    shot(page, "player")


def test_a_note_drawn_in_the_ui_comes_back_from_graphql_with_its_region(page: Any, world: dict[str, Any]) -> None:
    open_asset(page, world)
    video = page.locator("[data-testid=video]")
    page.wait_for_function("v => v.readyState >= 1", arg=video.element_handle(), timeout=20_000, polling=100)
    video.evaluate("v => { v.currentTime = 1.0 }")
    page.get_by_role("button", name="▭ Rectangle").click()
    box = page.locator("[data-testid=overlay]").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.25)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5, steps=5)
    page.mouse.up()
    page.get_by_role("button", name="✎ Freehand").click()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6)
    page.mouse.down()
    for i in range(1, 6):
        page.mouse.move(box["x"] + box["width"] * (0.6 + i * 0.05), box["y"] + box["height"] * 0.7, steps=2)
    page.mouse.up()
    page.locator("[data-testid=note-text]").fill("Boom in frame")
    page.locator("[data-testid=add-note]").click()
    page.locator("[data-testid=notes]").get_by_text("Boom in frame").wait_for(timeout=20_000)
    assert page.locator("[data-testid=note-markers] button").count() == 1

    [note] = [e["node"] for e in gql(world["server"], NOTE_QUERY, {"id": world["proxy"]["id"]})["asset"]["notes"]["edges"]]
    assert note["text"] == "Boom in frame" and note["start"] == pytest.approx(1.0, abs=0.1)
    rect, line = note["region"]["shapes"]
    assert rect["type"] == "rect"
    assert (rect["x"], rect["y"], rect["w"], rect["h"]) == pytest.approx((0.25, 0.25, 0.25, 0.25), abs=0.03)
    assert line["type"] == "freehand" and len(line["points"]) >= 5
    assert all(0 <= v <= 1 for point in line["points"] for v in point)
    shot(page, "note")


def test_an_approval_marks_the_asset(page: Any, world: dict[str, Any]) -> None:
    open_asset(page, world)
    page.locator("[data-decision=APPROVED]").click()
    page.locator("[data-testid=review] [data-testid=approval]").get_by_text("approved").wait_for(timeout=20_000)
    page.goto(f"{world['server'].url}/explore/#/title/{world['film']['id']}")
    card = page.locator(f"[data-asset='{world['source']['id']}']")
    card.locator("[data-testid=approval]").wait_for(timeout=20_000)
    assert card.locator("[data-testid=approval]").inner_text() == "approved"
    shot(page, "approved")


def test_the_lineage_graph_draws_every_node_and_shows_a_run(page: Any, world: dict[str, Any]) -> None:
    expected = gql(world["server"], """query($id: ID!) { lineage(id: $id, direction: BOTH, maxDepth: 4, limit: 300) {
        nodes { degree } } }""", {"id": world["source"]["id"]})["lineage"]["nodes"]
    open_asset(page, world)
    graph = page.locator("[data-testid=lineage-graph]")
    page.wait_for_function("el => el.dataset.drawn !== undefined", arg=graph.element_handle(), timeout=20_000, polling=100)
    drawn = int(graph.get_attribute("data-drawn"))
    assert drawn == len(expected) and drawn >= 6  # source, 3 runs, proxy, frames, shots...
    run_id = graph.evaluate("el => el.cy.nodes().filter(n => n.data('kind') === 'Run')[0].id()")
    graph.evaluate("(el, id) => { el.cy.getElementById(id).emit('tap') }", run_id)  # returns nothing: a Cytoscape collection is a huge object to serialize
    details = page.locator("[data-testid=run-details]").inner_text()
    assert run_id in details and '"jobVersion"' in details and '"parameters"' in details
    shot(page, "lineage")


def test_search_shows_hits_as_time_coded_thumbnails_that_seek_the_player(page: Any, world: dict[str, Any]) -> None:
    page.goto(f"{world['server'].url}/explore/")
    page.locator("#search").fill("smoking")
    page.locator("#search").press("Enter")
    hits = page.locator("[data-testid=hit]")
    hits.first.wait_for(timeout=20_000)
    assert hits.count() >= 1
    assert hits.first.locator(".tc").inner_text() == "0:01.50"  # the shot the label covers
    shot(page, "search")
    hits.first.click()
    video = page.locator("[data-testid=video]")
    video.wait_for(timeout=20_000)
    page.wait_for_function("v => Math.abs(v.currentTime - 1.5) < 0.1", arg=video.element_handle(), timeout=20_000, polling=100)


def test_with_auth_on_it_asks_for_a_token_once_and_media_plays_by_signed_urls(page: Any, world: dict[str, Any]) -> None:
    _, token = open_tokens(world["lake"].connection).create("explorer", ["read", "write"])
    guarded = LiveServer(str(world["lake_dir"]), extra_args=["--auth", "on"], startup_seconds=180)
    try:
        context = page.context.browser.new_context()
        tab = context.new_page()
        tab.goto(f"{guarded.url}/explore/#/title/{world['film']['id']}")
        tab.locator("#token-dialog input").fill(token)
        tab.locator("#token-dialog button").click()
        thumb = tab.locator(f"[data-asset='{world['source']['id']}'] img[data-testid=thumb]")
        thumb.wait_for(timeout=20_000)
        tab.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(),
                              timeout=20_000, polling=100)
        assert tab.evaluate("() => sessionStorage.getItem('mediagraph.token')") == token
        tab.goto(f"{guarded.url}/explore/#/asset/{world['source']['id']}")
        tab.reload()  # a new page load in the same tab: the token is kept, nothing is asked again
        tab.locator("[data-testid=video]").wait_for(timeout=20_000)
        assert tab.locator("#token-dialog").count() == 0
        assert "sig=" in tab.locator("[data-testid=video]").get_attribute("src")
        tab.screenshot(path=str(ARTIFACTS / "auth.png"))
        context.close()
    finally:
        guarded.stop()


def test_a_redelivered_source_marks_its_derivatives_and_its_approval_stale(page: Any, world: dict[str, Any]) -> None:
    """Runs last in the module: it re-delivers the source (version 2), so everything derived from version 1 is stale."""
    source, proxy = world["source"], world["proxy"]
    [again] = gql(world["server"], """mutation($i: [AssetInput!]!) { registerAssets(input: $i) { id version } }""", {"i": [{
        "titleId": world["film"]["id"], "mediaType": "VIDEO", "role": "source", "uri": source["uri"],
        "externalId": source["external_id"], "checksum": "sha256:" + "0" * 64}]})["registerAssets"]
    assert again == {"id": source["id"], "version": 2}
    page.goto(f"{world['server'].url}/explore/#/title/{world['film']['id']}")
    card = page.locator(f"[data-asset='{proxy['id']}']")
    card.locator(".badge.stale").wait_for(timeout=20_000)
    assert page.locator(f"[data-asset='{source['id']}'] .badge.stale").count() == 0  # the source itself is current
    assert "stale" in page.locator(f"[data-asset='{source['id']}'] [data-testid=approval]").inner_text()  # approved v1
    page.goto(f"{world['server'].url}/explore/#/asset/{proxy['id']}")
    page.locator("h1 .badge.stale").wait_for(timeout=20_000)
    graph = page.locator("[data-testid=lineage-graph]")
    page.wait_for_function("el => el.dataset.drawn !== undefined", arg=graph.element_handle(), timeout=20_000, polling=100)
    stale_nodes = graph.evaluate("el => el.cy.nodes('.stale').map(n => n.id())")
    assert proxy["id"] in stale_nodes and source["id"] not in stale_nodes
    shot(page, "stale")

"""GraphiQL in a real browser: Debian's chromium, headless, driven by playwright."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.live import shared_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (CI installs it: .ci/setup-browser.sh)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def test_graphiql_runs_a_query_with_a_bearer_token_from_the_header_editor(browser: Any, tmp_path: Path) -> None:
    server, _ = shared_server()
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{server.url}/graphql")
    page.wait_for_selector(".graphiql-execute-button", timeout=30_000)

    # the bar above GraphiQL links to the explorer
    assert page.locator("#mediagraph-explore").get_attribute("href") == "/explore/"

    tabs = page.locator(".graphiql-tab").all_inner_texts()
    assert any("TitleWithAssets" in t for t in tabs), tabs
    assert any("AssetLineage" in t for t in tabs) and any("Search" in t for t in tabs), tabs

    # the first example, a title with its assets, runs with a search typed into the variables
    # editor and a bearer token typed into the headers editor
    for tool, text in (("Variables", '{"search": "storm"}'), ("Headers", '{"Authorization": "Bearer test-token-123"}')):
        page.get_by_role("button", name=tool).click()
        editor = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror")
        editor.click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(text)

    with page.expect_request(lambda r: r.url.endswith("/graphql") and r.method == "POST"
                             and "storm" in (r.post_data or "")) as sent:
        page.locator(".graphiql-execute-button").click()
    assert sent.value.headers.get("authorization") == "Bearer test-token-123"
    result = page.locator(".result-window")
    result.get_by_text("Northern Storm").wait_for(timeout=15_000)
    text = result.inner_text()
    assert '"releaseYear": 2023' in text and '"role": "trailer"' in text and "Quiet Harbour" not in text
    page.screenshot(path=str(tmp_path / "graphiql.png"))
    # everything the page loaded came from the media graph itself: no CDN
    assert requested and all(u.startswith(server.url) for u in requested), requested
    page.close()

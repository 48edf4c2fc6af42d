"""/explore serves the built single-page app with a fallback to index.html, and a page saying how to build
it when there is no build."""
from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from graph_api.http.explore import routes


def test_without_a_build_explore_says_how_to_make_one(tmp_path: Path) -> None:
    client = TestClient(Starlette(routes=routes(tmp_path / "dist")))
    for path in ("/explore", "/explore/", "/explore/assets/app.js"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert "npm ci &amp;&amp; npm run build" in response.text and "text/html" in response.headers["content-type"]


def test_a_build_is_served_and_unknown_paths_fall_back_to_the_page(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>explorer</title>")
    (tmp_path / "assets" / "app.js").write_text("console.log('hi')")
    client = TestClient(Starlette(routes=routes(tmp_path)))
    moved = client.get("/explore", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/explore/"
    page = client.get("/explore/")
    assert page.status_code == 200 and "explorer" in page.text and page.headers["cache-control"] == "no-cache"
    script = client.get("/explore/assets/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    fallback = client.get("/explore/title/abc")
    assert fallback.status_code == 200 and "explorer" in fallback.text

"""/media/{assetId} over real HTTP against a real uvicorn with auth on: range requests, HEAD, content types,
entitlements (an unentitled token gets 404), and signed URLs (expired and tampered ones refused)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from graph_api.lake import Lake
from graph_api.lake.signing import MediaSigner, lake_secret
from graph_api.lake.tokens import open_tokens
from graph_api.media.synth import ClipSpec, write_clip
from tests.conftest import LiveServer, checksum

MEDIA_URL = "query($id: ID!) { asset(id: $id) { id version mediaUrl } }"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("media")
    lake_dir, media = root / "lake", root / "lake-media"
    media.mkdir()
    proxy = media / "proxy.mp4"
    write_clip(proxy, ClipSpec(width=64, height=36, duration=1.0, tone=None))
    secret_file = root / "secret.txt"  # outside the media dir
    secret_file.write_text("not for you")
    lake = Lake(str(lake_dir), background_compaction=False)
    open_title, restricted = lake.titles.create([{"name": "Open", "kind": "MOVIE"},
                                                 {"name": "Locked", "kind": "MOVIE", "restricted": True}])
    assets = lake.assets.register([
        {"title_id": open_title["id"], "media_type": "VIDEO", "role": "proxy", "uri": str(proxy),
         "checksum": checksum("proxy"), "size_bytes": proxy.stat().st_size},
        {"title_id": restricted["id"], "media_type": "VIDEO", "role": "proxy", "uri": f"file://{proxy}",
         "checksum": checksum("locked")},
        {"title_id": open_title["id"], "media_type": "TEXT", "role": "notes", "uri": str(secret_file)},
        {"title_id": open_title["id"], "media_type": "VIDEO", "role": "proxy", "uri": f"{media}/../secret.txt"},
    ])
    tokens = open_tokens(lake.connection)
    _, reader = tokens.create("reader", ["read"])
    _, granted = tokens.create("granted", ["read"], title_ids=[restricted["id"]])
    _, writer_only = tokens.create("writer", ["write"])
    server = LiveServer(str(lake_dir), extra_args=["--auth", "on"])
    yield {"server": server, "proxy": proxy, "open": assets[0], "locked": assets[1], "outside": assets[2],
           "escape": assets[3], "reader": reader, "granted": granted, "writer": writer_only, "lake": lake}
    server.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get(world: dict[str, Any], path: str, token: str | None = None, **headers: str) -> httpx.Response:
    if token:
        headers.update(bearer(token))
    return httpx.get(world["server"].url + path, headers=headers, timeout=30)


def media_url(world: dict[str, Any], asset_id: str, token: str) -> str:
    response = httpx.post(world["server"].url + "/graphql", json={"query": MEDIA_URL, "variables": {"id": asset_id}},
                          headers=bearer(token), timeout=30)
    body = response.json()
    assert not body.get("errors"), body
    url: str = body["data"]["asset"]["mediaUrl"]
    return url


def test_a_proxy_is_served_whole_and_by_ranges_with_its_content_type(world: dict[str, Any]) -> None:
    whole = world["proxy"].read_bytes()
    path = f"/media/{world['open']['id']}"
    response = get(world, path, world["reader"])
    assert response.status_code == 200 and response.content == whole
    assert response.headers["content-type"] == "video/mp4" and response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] and response.headers["last-modified"]

    part = get(world, path, world["reader"], Range="bytes=10-99")
    assert part.status_code == 206 and part.content == whole[10:100]
    assert part.headers["content-range"] == f"bytes 10-99/{len(whole)}"
    tail = get(world, path, world["reader"], Range="bytes=-16")
    assert tail.status_code == 206 and tail.content == whole[-16:]
    open_ended = get(world, path, world["reader"], Range=f"bytes={len(whole) - 5}-")
    assert open_ended.content == whole[-5:]
    for bad in (f"bytes={len(whole)}-", "bytes=9-3", "bytes=abc"):
        refused = get(world, path, world["reader"], Range=bad)
        assert refused.status_code == 416, bad
        assert refused.headers["content-range"] == f"bytes */{len(whole)}"
        assert refused.json()["errors"][0]["extensions"]["code"] == "RANGE_NOT_SATISFIABLE"

    cached = get(world, path, world["reader"], **{"If-None-Match": response.headers["etag"]})
    assert cached.status_code == 304 and not cached.content


def test_head_answers_the_headers_without_a_body(world: dict[str, Any]) -> None:
    response = httpx.head(world["server"].url + f"/media/{world['open']['id']}", headers=bearer(world["reader"]))
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-length"] == str(world["proxy"].stat().st_size)
    assert response.headers["content-type"] == "video/mp4"


def test_entitlements_are_graphqls_an_unentitled_token_gets_404(world: dict[str, Any]) -> None:
    locked = f"/media/{world['locked']['id']}"
    assert get(world, locked, world["reader"]).status_code == 404
    assert get(world, locked, world["granted"]).status_code == 200
    assert get(world, "/media/asset_nope", world["reader"]).status_code == 404
    # no token, or a token without read
    missing = get(world, locked)
    assert missing.status_code == 401 and missing.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert get(world, locked, world["writer"]).status_code == 403


def test_files_outside_the_media_dir_are_refused(world: dict[str, Any]) -> None:
    for asset in (world["outside"], world["escape"]):
        response = get(world, f"/media/{asset['id']}", world["reader"])
        assert response.status_code == 403, asset["uri"]
        assert response.json()["errors"][0]["extensions"]["code"] == "MEDIA_OUTSIDE_ROOT"


def test_a_signed_url_from_graphql_plays_without_a_header(world: dict[str, Any]) -> None:
    url = media_url(world, world["open"]["id"], world["reader"])
    assert url.startswith(f"/media/{world['open']['id']}?")
    response = get(world, url, Range="bytes=0-15")
    assert response.status_code == 206 and response.content == world["proxy"].read_bytes()[:16]
    # the signature is the reader's: it opens no title the reader may not see
    locked_url = media_url(world, world["locked"]["id"], world["granted"])
    assert get(world, locked_url).status_code == 200
    assert media_url(world, world["open"]["id"], world["granted"]) != url


def test_tampered_and_expired_signatures_are_refused_with_a_code(world: dict[str, Any]) -> None:
    url = media_url(world, world["open"]["id"], world["reader"])
    split = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(split.query).items()}

    def code(path: str, query: dict[str, str]) -> tuple[int, str]:
        response = get(world, f"{path}?{urlencode(query)}")
        return response.status_code, response.json()["errors"][0]["extensions"]["code"]

    assert code(split.path, {**params, "sig": "0" * 64}) == (403, "SIGNATURE_INVALID")
    assert code(split.path, {**params, "exp": str(int(params["exp"]) + 3600)}) == (403, "SIGNATURE_INVALID")
    # another asset's path with this asset's signature
    assert code(f"/media/{world['locked']['id']}", params) == (403, "SIGNATURE_INVALID")
    # a correctly signed URL whose time has passed (signed with the lake's key, as the server does)
    # (a ttl of a minute: the expired URL was signed two minutes ago, and the fresh one must outlive a slow request)
    signer = MediaSigner(lake_secret(world["lake"].connection), ttl_seconds=60)
    expired = urlsplit(signer.url(world["open"]["id"], 1, params["tok"], now=time.time() - 120))
    expired_params = {k: v[0] for k, v in parse_qs(expired.query).items()}
    assert code(expired.path, expired_params) == (403, "SIGNATURE_EXPIRED")
    fresh = urlsplit(signer.url(world["open"]["id"], 1, params["tok"]))
    assert get(world, f"{fresh.path}?{fresh.query}").status_code == 200


def test_a_signature_for_a_token_that_is_not_live_is_refused(world: dict[str, Any]) -> None:
    signer = MediaSigner(lake_secret(world["lake"].connection), ttl_seconds=60)
    url = signer.url(world["open"]["id"], 1, "0123456789abcdef")  # correctly signed, for no token
    response = get(world, url)
    assert response.status_code == 403 and response.json()["errors"][0]["extensions"]["code"] == "SIGNATURE_INVALID"
    # and with auth on, a URL signed for the local user (auth off) is worth nothing
    local = signer.url(world["open"]["id"], 1, None)
    assert get(world, local).status_code == 403


def test_a_signed_url_dies_with_its_token(world: dict[str, Any]) -> None:
    tokens = open_tokens(world["lake"].connection)
    record, token = tokens.create("short-lived", ["read"])
    deadline = time.monotonic() + 10
    while True:  # the server looks for new tokens once a refresh interval (1 s)
        response = httpx.post(world["server"].url + "/graphql", json={"query": MEDIA_URL,
                              "variables": {"id": world["open"]["id"]}}, headers=bearer(token), timeout=30)
        if response.status_code == 200:
            break
        assert time.monotonic() < deadline, "the server did not learn of the new token"
        time.sleep(0.2)
    url = response.json()["data"]["asset"]["mediaUrl"]
    assert get(world, url).status_code == 200
    tokens.revoke(record.id)
    time.sleep(1.5)
    assert get(world, url).status_code == 403

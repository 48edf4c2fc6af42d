"""JWTs from an identity provider over real HTTP: a real uvicorn with a JWKS holding RSA, EC and HMAC keys
made at run time; the lake's own tokens keep working beside them."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from graph_api.errors import InvalidArgument
from graph_api.http.jwts import JWTVerifier
from graph_api.lake.connection import Connection
from graph_api.lake.tokens import open_tokens
from graph_api.settings import Settings
from tests.auth.test_http_auth import assert_forbidden, assert_unauthenticated
from tests.conftest import LiveServer

ISSUER = "https://idp.example.test"
AUDIENCE = "mediagraph"
HMAC_SECRET = "a-shared-secret-of-at-least-32-characters!"
TITLES = "{ titles(first: 20) { edges { node { id name } } } }"


def _jwk(key: Any, kid: str, algorithm: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(jwt.algorithms.get_default_algorithms()[algorithm].to_jwk(key))
    return {**jwk, "kid": kid, "alg": algorithm, "use": "sig"}


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {"rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec": ec.generate_private_key(ec.SECP256R1()), "other": rsa.generate_private_key(65537, 2048)}


@pytest.fixture(scope="module")
def jwks_file(tmp_path_factory: pytest.TempPathFactory, keys: dict[str, Any]) -> Path:
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": [_jwk(keys["rsa"].public_key(), "rsa-1", "RS256"),
                                         _jwk(keys["ec"].public_key(), "ec-1", "ES256"),
                                         _jwk(HMAC_SECRET.encode(), "hs-1", "HS256")]}))
    return path


@pytest.fixture(scope="module")
def lake_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("jwt") / "lake")


@pytest.fixture(scope="module")
def server(lake_path: str, jwks_file: Path) -> Iterator[LiveServer]:
    live = LiveServer(lake_path, extra_args=["--auth", "on", "--jwt-jwks-file", str(jwks_file),
                                             "--jwt-audience", AUDIENCE, "--jwt-issuer", ISSUER])
    yield live
    live.stop()


def token(keys: dict[str, Any], kind: str = "rsa", kid: str | None = None, *, expires_in: float = 300,
          **claims: Any) -> str:
    payload = {"sub": "ana@studio.test", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time() + expires_in),
               "scope": "read", **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    if kind == "hs":
        return jwt.encode(payload, HMAC_SECRET, algorithm="HS256", headers={"kid": kid or "hs-1"})
    algorithm = {"rsa": "RS256", "ec": "ES256", "other": "RS256"}[kind]
    default_kid = {"rsa": "rsa-1", "ec": "ec-1", "other": "rsa-1"}[kind]
    return jwt.encode(payload, keys[kind], algorithm=algorithm, headers={"kid": kid or default_kid})


def post(server: LiveServer, query: str, bearer: str) -> httpx.Response:
    return httpx.post(server.url + "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {bearer}"},
                      timeout=30)


def test_rs256_es256_and_hs256_tokens_map_their_claims_to_scopes_titles_and_the_caller(
        server: LiveServer, keys: dict[str, Any]) -> None:
    editor = token(keys, "ec", scope=None, scp=["read", "write", "openid"], mediagraph_titles="*", sub="ed@studio")
    created = post(server, 'mutation { createTitle(input: {name: "Vault Cut", kind: MOVIE, restricted: true}) '
                           '{ id } }', editor)
    assert created.status_code == 200, created.text
    secret_id = created.json()["data"]["createTitle"]["id"]
    post(server, 'mutation { createTitle(input: {name: "Open Sea", kind: MOVIE}) { id } }', editor)

    def names(bearer: str) -> set[str]:
        response = post(server, TITLES, bearer)
        assert response.status_code == 200, response.text
        return {e["node"]["name"] for e in response.json()["data"]["titles"]["edges"]}

    assert names(token(keys, "rsa")) == {"Open Sea"}
    assert names(token(keys, "rsa", mediagraph_titles=[secret_id])) == {"Open Sea", "Vault Cut"}
    assert names(token(keys, "hs", mediagraph_titles=["title_other"])) == {"Open Sea"}
    # the reviewer of a review is the caller: the JWT's subject
    asset = post(server, 'mutation { registerAssets(input: [{titleId: "%s", mediaType: VIDEO, role: "master", '
                         'uri: "file:///m.mov"}]) { id } }' % secret_id, editor).json()["data"]["registerAssets"][0]["id"]
    review = post(server, 'mutation { reviewAsset(input: {assetId: "%s", decision: APPROVED}) { reviewer } }' % asset,
                  editor)
    assert review.json()["data"]["reviewAsset"]["reviewer"] == "ed@studio"
    # scopes: read alone may not write; admin-only may not read
    assert_forbidden(post(server, 'mutation { createTitle(input: {name: "x", kind: MOVIE}) { id } }',
                          token(keys, "rsa")))
    assert_forbidden(post(server, TITLES, token(keys, "rsa", scope="admin")))


def test_bad_expired_or_misaddressed_jwts_are_401(server: LiveServer, keys: dict[str, Any]) -> None:
    good = token(keys, "rsa")
    assert post(server, TITLES, good).status_code == 200
    refused = [
        token(keys, "rsa", expires_in=-120),  # expired beyond the 30 s leeway
        token(keys, "rsa", exp=None),  # no expiry at all
        token(keys, "rsa", aud="someone-else"),
        token(keys, "rsa", iss="https://evil.example"),
        token(keys, "rsa", sub=None),
        token(keys, "other"),  # signed by a key the JWKS does not hold, under its kid
        token(keys, "rsa", kid="unknown"),
        good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),  # a broken signature
        # algorithm confusion: an HMAC "signed" with the RSA key's kid, and an unsigned token
        jwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, "scope": "read"},
                   HMAC_SECRET, algorithm="HS256", headers={"kid": "rsa-1"}),
        jwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, "scope": "read"},
                   None, algorithm="none", headers={"kid": "rsa-1"}),
    ]
    for bad in refused:
        assert_unauthenticated(post(server, TITLES, bad))


def test_the_lakes_own_tokens_work_beside_jwts(server: LiveServer, lake_path: str) -> None:
    _, opaque = open_tokens(Connection(lake_path, background_compaction=False)).create("beside", ["read"])
    deadline = time.monotonic() + 6
    while post(server, TITLES, opaque).status_code != 200:
        assert time.monotonic() < deadline, "the server did not learn of a new token"
        time.sleep(0.2)


def test_a_pem_key_file_fixes_the_algorithm_and_bad_key_sources_are_refused(tmp_path: Path,
                                                                            keys: dict[str, Any]) -> None:
    pem = tmp_path / "ec.pem"
    pem.write_bytes(keys["ec"].public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    verifier = JWTVerifier(Settings.load(env={}, jwt_key_file=str(pem)))
    principal = verifier.principal(token(keys, "ec", scope="read write", mediagraph_titles=["title_a"]))
    assert principal is not None and principal.name == "ana@studio.test"
    assert principal.scopes == {"read", "write"} and principal.title_ids == {"title_a"} and not principal.all_titles
    assert verifier.principal(token(keys, "rsa")) is None
    with pytest.raises(InvalidArgument):
        JWTVerifier(Settings.load(env={}, jwt_key_file=str(tmp_path / "missing.pem")))
    short = tmp_path / "short"
    short.write_text("too short")
    with pytest.raises(InvalidArgument):
        JWTVerifier(Settings.load(env={}, jwt_secret_file=str(short)))
    with pytest.raises(InvalidArgument):
        Settings.load(env={}, jwt_key_file=str(pem), jwt_secret_file=str(short))

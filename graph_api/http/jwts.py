"""JSON Web Tokens from a company's identity provider, for SSO deployments, beside the lake's own tokens.

A JWT is verified against one configured key source (``Settings``):

    jwt_key_file      a PEM public key: RSA -> RS256, EC P-256 -> ES256
    jwt_jwks_file     a JWKS document (what an IdP serves at /.well-known/jwks.json): the token's ``kid``
                      picks the key, the key's type its algorithm; the file is re-read when it changes
    jwt_secret_file   a shared secret -> HS256

The algorithm comes from the key, never from the token's header, so a token cannot pick a weaker one
(HS256 "signed" with a public key, or ``none``). ``exp`` and ``sub`` are required, expiry is enforced
(with ``jwt_leeway_seconds`` for clock skew), and ``aud`` / ``iss`` are checked when configured.

Claims become a ``Principal``: its name is ``sub``; its scopes are the values of the first scope claim
present (``scope`` then ``scp`` by default; a space-separated string or a list) that are one of
read, write, admin; its titles are the ``mediagraph_titles`` claim, a list of title ids, or ``"*"``
(or a list holding it) for every title.
"""
from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from graph_api.errors import InvalidArgument
from graph_api.lake.tokens import SCOPES, Principal
from graph_api.settings import Settings

log = logging.getLogger(__name__)

ALL_TITLES = "*"
# a JWT's header is base64url JSON, so it starts with '{"' -> "eyJ"; the lake's tokens start with mgt_
JWT_PREFIX = "eyJ"
MAX_JWT_BYTES = 16 * 1024


def looks_like_jwt(token: str) -> bool:
    """Tell a JWT from an opaque ``mgt_`` token by its shape: three base64url parts, a JSON header."""
    return token.startswith(JWT_PREFIX) and token.count(".") == 2 and len(token) <= MAX_JWT_BYTES


@dataclass(frozen=True)
class Claims:
    """Which claims carry what (settings name them)."""

    scope_claims: tuple[str, ...] = ("scope", "scp")
    titles_claim: str = "mediagraph_titles"

    def principal(self, payload: dict[str, Any]) -> Principal | None:
        subject = payload.get("sub")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 200:
            return None
        scopes: frozenset[str] = frozenset()
        for claim in self.scope_claims:
            if claim in payload:
                scopes = frozenset(s for s in _strings(payload[claim], split=True) if s in SCOPES)
                break
        titles = _strings(payload.get(self.titles_claim), split=False)
        every = ALL_TITLES in titles
        # "jwt:" keeps a subject apart from the lake's token ids (idempotency keys and limits are per principal)
        return Principal(name=subject, scopes=scopes, title_ids=frozenset() if every else frozenset(titles),
                         all_titles=every, token_id=f"jwt:{payload.get('iss', '')}:{subject}")


def _strings(value: Any, *, split: bool) -> list[str]:
    if isinstance(value, str):
        return value.split() if split else [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


class _Keys:
    """The verification keys and their algorithms, by ``kid`` (None: the one key of a PEM or secret)."""

    def __init__(self, settings: Settings) -> None:
        sources = [(k, getattr(settings, k)) for k in ("jwt_key_file", "jwt_jwks_file", "jwt_secret_file")
                   if getattr(settings, k)]
        if len(sources) != 1:
            raise InvalidArgument("give one of jwt_key_file, jwt_jwks_file, jwt_secret_file")
        self.kind, self.path = sources[0][0], Path(sources[0][1])
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: dict[str | None, tuple[Any, str]] = {}
        self.load()  # a missing or unreadable key file stops the server from starting

    def load(self) -> None:
        try:
            stat = self.path.stat()
            text = self.path.read_text()
        except OSError as exc:
            raise InvalidArgument(f"cannot read {self.kind.replace('_', ' ')} {self.path}: {exc.strerror}") from None
        self._keys = _parse(self.kind, text, self.path)
        self._stamp = (stat.st_mtime_ns, stat.st_size)

    def get(self, kid: str | None) -> tuple[Any, str] | None:
        if self.kind == "jwt_jwks_file":
            self._reload_if_changed()
        keys = self._keys
        if None in keys:
            return keys[None]  # one configured key (PEM, secret): whatever kid the IdP puts in its tokens
        return keys.get(kid) if kid is not None or len(keys) != 1 else next(iter(keys.values()))

    def _reload_if_changed(self) -> None:
        # an IdP rotates keys by publishing a new JWKS: a deployment rewrites the file, servers keep running
        try:
            stat = os.stat(self.path)
        except OSError:
            return  # keep the keys we have: a file being replaced must not lock everyone out
        if (stat.st_mtime_ns, stat.st_size) == self._stamp:
            return
        with self._lock:
            try:
                self.load()
            except InvalidArgument as exc:
                log.warning("kept the previous JWKS: %s", exc.message)


def _parse(kind: str, text: str, path: Path) -> dict[str | None, tuple[Any, str]]:
    if kind == "jwt_secret_file":
        secret = text.strip()
        if len(secret) < 32:
            raise InvalidArgument(f"the HS256 secret in {path} must be at least 32 characters")
        return {None: (secret.encode(), "HS256")}
    if kind == "jwt_key_file":
        try:
            key = load_pem_public_key(text.encode())
        except ValueError:
            raise InvalidArgument(f"{path} is not a PEM public key") from None
        return {None: (key, _algorithm(key, path))}
    try:
        jwks = jwt.PyJWKSet.from_json(text)
    except (jwt.PyJWKSetError, json.JSONDecodeError, ValueError) as exc:
        raise InvalidArgument(f"{path} is not a JWKS document: {exc}") from None
    keys: dict[str | None, tuple[Any, str]] = {}
    for jwk in jwks.keys:
        algorithm = jwk.algorithm_name
        if algorithm not in ("RS256", "ES256", "HS256"):
            continue  # only what the issue names; others are skipped, not trusted
        keys[jwk.key_id] = (jwk.key, algorithm)
    if not keys:
        raise InvalidArgument(f"{path} holds no RS256, ES256 or HS256 key")
    return keys


def _algorithm(key: Any, path: Path) -> str:
    if isinstance(key, RSAPublicKey):
        return "RS256"
    if isinstance(key, EllipticCurvePublicKey) and isinstance(key.curve, SECP256R1):
        return "ES256"
    raise InvalidArgument(f"{path}: only RSA and EC P-256 public keys are supported")


class JWTVerifier:
    def __init__(self, settings: Settings) -> None:
        self._keys = _Keys(settings)
        self._claims = Claims(tuple(c.strip() for c in settings.jwt_scope_claims.split(",") if c.strip()),
                              settings.jwt_titles_claim)
        self._audience = settings.jwt_audience or None
        self._issuer = settings.jwt_issuer or None
        self._leeway = settings.jwt_leeway_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> JWTVerifier | None:
        if not (settings.jwt_key_file or settings.jwt_jwks_file or settings.jwt_secret_file):
            return None
        return cls(settings)

    def principal(self, token: str) -> Principal | None:
        """The principal a JWT stands for; None for a token that is not valid now (signature, expiry, aud, iss)."""
        try:
            header = jwt.get_unverified_header(token)
            found = self._keys.get(header.get("kid") if isinstance(header.get("kid"), str) else None)
            if found is None:
                return None
            key, algorithm = found
            required = ["exp", "sub"] + (["aud"] if self._audience else []) + (["iss"] if self._issuer else [])
            payload = jwt.decode(token, key, algorithms=[algorithm], audience=self._audience, issuer=self._issuer,
                                 leeway=self._leeway, options={"require": required,
                                                               "verify_aud": self._audience is not None})
        except jwt.PyJWTError as exc:
            log.debug("JWT refused: %s", exc)
            return None
        return self._claims.principal(payload)


__all__ = ["Claims", "JWTVerifier", "looks_like_jwt"]

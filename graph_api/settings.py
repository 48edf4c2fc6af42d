"""The one settings object, built once from command-line flags and ``MEDIAGRAPH_*`` variables.

Precedence: an explicit flag, then the environment, then the default.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graph_api.errors import InvalidArgument

ENV_PREFIX = "MEDIAGRAPH_"
STORAGE_PREFIX = "MEDIAGRAPH_STORAGE_"
# AWS variables LanceDB's object store understands, passed through as storage options
AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_ENDPOINT",
    "AWS_ENDPOINT_URL",
    "AWS_ALLOW_HTTP",
)


@dataclass(frozen=True)
class Settings:
    lake: str = "./lake"
    host: str = "127.0.0.1"
    port: int = 8000
    # "on": every request but /healthz needs a bearer token (``mediagraph token create``); "off" is
    # for local use: every caller is ``tokens.LOCAL``, and serving off loopback needs the flag below
    auth: str = "on"
    allow_remote_without_auth: bool = False
    # how often a server looks for tokens created or revoked since: the bound on how late a revocation bites
    token_refresh_seconds: float = 1.0
    # JWTs from an identity provider beside the lake's tokens (graph_api.http.jwts): one key source, the
    # claims that carry scopes (the first present wins) and titles, and aud / iss checks when set
    jwt_key_file: str = ""
    jwt_jwks_file: str = ""
    jwt_secret_file: str = ""
    jwt_audience: str = ""
    jwt_issuer: str = ""
    jwt_scope_claims: str = "scope,scp"
    jwt_titles_claim: str = "mediagraph_titles"
    jwt_leeway_seconds: float = 30.0
    workers: int = 1
    max_page_size: int = 500
    default_page_size: int = 50
    max_batch: int = 10_000
    lineage_max_depth: int = 50
    lineage_max_nodes: int = 10_000
    # compact a table once this many small fragments have piled up
    compact_small_fragments: int = 24
    # table versions older than this are deleted when a table is compacted (time travel window)
    version_retention_minutes: float = 10.0
    # 0 = every read sees the newest commit, also another process's (uvicorn --workers)
    read_consistency_seconds: float = 0.0
    # how often a process's event feed looks for new commits (subscriptions): the floor of delivery latency
    events_poll_seconds: float = 0.2
    log_level: str = "info"
    # where derive writes media files; empty: "<lake>-media" next to a local lake
    media_dir: str = ""
    # server operations: "json" or "text" logs; persisted queries "apq", "allowlist" or "off";
    # a persisted-query manifest (required by "allowlist"); OpenTelemetry tracing "on" or "off"
    log_format: str = "json"
    persisted_queries: str = "apq"
    persisted_queries_file: str = ""
    tracing: str = "off"
    # --- abuse limits and production mode (issue 11, item 3) ---------------------------------
    # what one GraphQL operation may ask for (graph_api.schema.limits): execution depth, aliases,
    # estimated cost, and lexical tokens (refused while parsing)
    max_depth: int = 15
    max_aliases: int = 50
    # worst case from the schema's page sizes: the README's exploratory queries (four nested connections at
    # the default page of 50, ~44M) must fit; three nested pages of 500 (125M+) must not
    max_cost: int = 50_000_000
    max_tokens: int = 20_000
    # a request body larger than this is refused with 413 while it is read (a 10k batch is ~3 MB)
    max_body_bytes: int = 8 * 1024 * 1024
    # request JSON (body, variables) nested deeper than this is refused with 400 before it is used
    max_json_depth: int = 64
    # a request still running after this many seconds is answered with code TIMEOUT (generous: a server's first
    # text search loads the embedding model, which took over 30 s on a busy 2-core machine)
    request_timeout_seconds: float = 120.0
    # requests one client (its Authorization header, else its address) may have running at once, per worker
    max_concurrent_requests: int = 16
    # GraphiQL and introspection off (``_service`` stays for the gateway), error messages without internals
    production: bool = False
    # --- /media (issue 15) ----------------------------------------------------------------------
    # the HMAC key of signed /media URLs (Asset.mediaUrl); empty: a key generated once and kept in the lake,
    # so every worker and replica of the lake agrees
    media_signing_secret: str = ""
    # how long a signed /media URL stays valid
    media_url_ttl_seconds: float = 600.0
    # ------------------------------------------------------------------------------------------
    storage_options: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name == "storage_options":
                continue
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _coerce(f.name, f.type, raw)
        values.update({k: v for k, v in flags.items() if v is not None})
        values["storage_options"] = storage_options_from(env)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.auth not in ("on", "off"):
            raise InvalidArgument(f"--auth must be 'on' or 'off', not {self.auth!r}")
        if self.token_refresh_seconds < 0:
            raise InvalidArgument("token_refresh_seconds must not be negative")
        if sum(bool(k) for k in (self.jwt_key_file, self.jwt_jwks_file, self.jwt_secret_file)) > 1:
            raise InvalidArgument("give one JWT key source: jwt_key_file, jwt_jwks_file or jwt_secret_file")
        if self.jwt_leeway_seconds < 0:
            raise InvalidArgument("jwt_leeway_seconds must not be negative")
        for name, allowed in (("log_format", ("json", "text")), ("persisted_queries", ("apq", "allowlist", "off")),
                              ("tracing", ("on", "off"))):
            if getattr(self, name) not in allowed:
                raise InvalidArgument(f"{name} must be one of {', '.join(allowed)}, not {getattr(self, name)!r}")
        if self.persisted_queries == "allowlist" and not self.persisted_queries_file:
            raise InvalidArgument("persisted_queries 'allowlist' needs persisted_queries_file, a manifest of the "
                                  "registered operations")
        for name in ("port", "workers", "max_page_size", "default_page_size", "max_batch", "max_depth", "max_aliases",
                     "max_cost", "max_tokens", "max_body_bytes", "max_json_depth", "max_concurrent_requests"):
            if getattr(self, name) < 1:
                raise InvalidArgument(f"{name} must be at least 1")
        if self.default_page_size > self.max_page_size:
            raise InvalidArgument("default_page_size must not exceed max_page_size")
        if self.events_poll_seconds <= 0:
            raise InvalidArgument("events_poll_seconds must be positive")
        if self.request_timeout_seconds <= 0:
            raise InvalidArgument("request_timeout_seconds must be positive")
        if self.media_url_ttl_seconds <= 0:
            raise InvalidArgument("media_url_ttl_seconds must be positive")

    @property
    def loopback(self) -> bool:
        """True when ``host`` is reachable from this machine only."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False

    @property
    def open_to_the_network_without_auth(self) -> bool:
        """Serving these settings would let anyone who reaches the port read and write everything, unasked for."""
        return self.auth == "off" and not self.loopback and not self.allow_remote_without_auth


def storage_options_from(env: Mapping[str, str]) -> dict[str, str]:
    options = {k.lower(): v for k, v in env.items() if k in AWS_VARIABLES}
    options.update({k[len(STORAGE_PREFIX):].lower(): v for k, v in env.items() if k.startswith(STORAGE_PREFIX)})
    return options


def _coerce(name: str, type_name: Any, raw: str) -> Any:
    kind = type_name if isinstance(type_name, str) else getattr(type_name, "__name__", "str")
    if kind == "bool":
        if raw.strip().lower() in ("1", "true", "on", "yes"):
            return True
        if raw.strip().lower() in ("0", "false", "off", "no"):
            return False
        raise InvalidArgument(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a boolean (true or false)")
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            if raw.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if raw.strip().lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
    except ValueError:
        raise InvalidArgument(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a {kind}") from None
    return raw

"""The ``mediagraph`` command. Errors are one line on stderr naming what failed, never a stack
trace; the exit statuses are ``EXIT_STATUSES`` (shown by ``mediagraph --help``)."""
from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from graph_api.errors import MediaGraphError
from graph_api.settings import Settings

OK, FAILED, USAGE, CANNOT_LISTEN, LAKE_UNAVAILABLE, INTERRUPTED = 0, 1, 2, 3, 4, 130
EXIT_STATUSES = f"""\
exit status:
  {OK}    success
  {FAILED}    the work failed (a file that did not ingest, a step that did not derive, ...)
  {USAGE}    bad usage: an unknown command, an invalid flag or setting (--auth off on a non-loopback --host, ...)
  {CANNOT_LISTEN}    serve, demo: the server cannot listen on --host/--port (the port is in use, ...)
  {LAKE_UNAVAILABLE}    the lake cannot be opened (serve, demo: not a directory, unreachable, ...;
       lake stats: it does not exist; only commands that write create a lake)
  {INTERRUPTED}  interrupted (Ctrl-C)
"""


class CannotServe(Exception):
    """Why ``serve`` did not start, with its exit status: found before the URL is printed."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _lake_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lake", help="lake URI (default: $MEDIAGRAPH_LAKE, then ./lake); s3://bucket/prefix works")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mediagraph", description="A GraphQL API over a media data lake.",
                                     epilog=EXIT_STATUSES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    raw = argparse.RawDescriptionHelpFormatter
    demo = sub.add_parser("demo", help="build (or reuse) the demo lake and serve it", epilog=EXIT_STATUSES,
                          formatter_class=raw)
    _lake_arg(demo)
    demo.add_argument("--host", default=None)
    demo.add_argument("--port", type=int, default=None)
    demo.add_argument("--no-serve", action="store_true", help="build the demo lake, then exit")

    serve = sub.add_parser("serve", help="serve a lake over GraphQL", epilog=EXIT_STATUSES, formatter_class=raw)
    _lake_arg(serve)
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--auth", choices=["on", "off"], default=None,
                       help="on (default): every request needs a bearer token (mediagraph token create); "
                            "off: no checks at all, for local use, on a loopback --host only")
    serve.add_argument("--allow-remote-without-auth", action="store_true", default=None,
                       help="let --auth off listen on a non-loopback --host: anyone who reaches it reads and "
                            "writes everything")
    serve.add_argument("--workers", type=int, default=None)
    jwt = serve.add_argument_group("JWT", "accept JWTs from an identity provider beside mediagraph tokens "
                                          "(one key source; each flag also reads $MEDIAGRAPH_JWT_...)")
    jwt.add_argument("--jwt-key-file", default=None, metavar="PEM", help="a public key: RSA (RS256) or EC P-256 "
                                                                         "(ES256)")
    jwt.add_argument("--jwt-jwks-file", default=None, metavar="JSON", help="a JWKS document; the token's kid picks "
                                                                           "the key; re-read when it changes")
    jwt.add_argument("--jwt-secret-file", default=None, metavar="FILE", help="a shared HS256 secret (32+ chars)")
    jwt.add_argument("--jwt-audience", default=None, help="required aud claim")
    jwt.add_argument("--jwt-issuer", default=None, help="required iss claim")
    jwt.add_argument("--jwt-scope-claims", default=None, metavar="LIST",
                     help="claims holding the scopes, first present wins (default: scope,scp)")
    jwt.add_argument("--jwt-titles-claim", default=None, metavar="NAME",
                     help="claim listing restricted title ids, or \"*\" (default: mediagraph_titles)")
    serve.add_argument("--log-format", choices=["json", "text"], default=None, help="default: json")
    serve.add_argument("--persisted-queries", choices=["apq", "allowlist", "off"], default=None,
                       help="automatic persisted queries (default), only the manifest's operations, or none")
    serve.add_argument("--persisted-queries-file", default=None,
                       help="persisted query manifest (JSON); required by --persisted-queries allowlist")
    serve.add_argument("--tracing", choices=["on", "off"], default=None, help="OpenTelemetry spans (default: off)")
    serve.add_argument("--production", action="store_true", default=None,
                       help="GraphiQL and introspection off, errors masked ($MEDIAGRAPH_PRODUCTION)")

    lake = sub.add_parser("lake", help="inspect or maintain the lake")
    lake.add_argument("action", choices=["stats", "optimize"])
    _lake_arg(lake)
    lake.add_argument("--json", action="store_true", help="print JSON instead of a table")

    _token_parser(sub)

    export = sub.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")

    from graph_api import commands

    commands.add_parsers(sub, _lake_arg)
    return parser


def _token_parser(sub: Any) -> None:
    token = sub.add_parser("token", help="create, list and revoke API tokens (stored in the lake as salted hashes)",
                           description="Bearer tokens for `mediagraph serve --auth on`. A token's scopes say what "
                                       "it may do (read: queries; write: mutations and lineage events; admin); its "
                                       "titles, which restricted titles it may see. Servers notice a created or "
                                       "revoked token within a second.")
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="make a token; the token alone is the last line of stdout")
    create.add_argument("--scopes", required=True, metavar="LIST", help="comma-separated, from read,write,admin")
    which = create.add_mutually_exclusive_group()
    which.add_argument("--titles", metavar="ID,...", help="restricted titles this token may see")
    which.add_argument("--all-titles", action="store_true", help="this token may see every restricted title")
    create.add_argument("--name", default="unnamed", help="who or what uses it (the reviewer name of its reviews)")
    _lake_arg(create)
    listing = actions.add_parser("list", help="every token: id, name, scopes, titles, created, last used (never "
                                              "the secret)")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _lake_arg(listing)
    revoke = actions.add_parser("revoke", help="revoke a token by id; servers refuse it within a second")
    revoke.add_argument("id", metavar="ID")
    _lake_arg(revoke)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=os.environ.get("MEDIAGRAPH_LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return _run(args)
    except CannotServe as exc:
        print(f"mediagraph {args.command}: {exc.message}", file=sys.stderr)
        return exc.status
    except MediaGraphError as exc:
        print(f"mediagraph {args.command}: {exc.code}: {exc.message}", file=sys.stderr)
        return USAGE if exc.code == "INVALID_ARGUMENT" else FAILED
    except KeyboardInterrupt:
        print(f"mediagraph {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    flags = {k: getattr(args, k, None) for k in ("lake", "host", "port", "auth", "allow_remote_without_auth",
                                                 "workers", "log_format", "persisted_queries",
                                                 "persisted_queries_file", "tracing", "production",
                                                 "jwt_key_file", "jwt_jwks_file", "jwt_secret_file", "jwt_audience",
                                                 "jwt_issuer", "jwt_scope_claims", "jwt_titles_claim")}
    return Settings.load(**{**flags, **extra})


def _check_auth(settings: Settings, command: str) -> None:
    """Refuse to serve everything to the network unasked (``serve`` warns loudly once it starts)."""
    if settings.open_to_the_network_without_auth:
        raise CannotServe(f"--auth off serves every title, read and write, to anyone who reaches "
                          f"{settings.host}:{settings.port}; it listens on loopback only (--host 127.0.0.1) "
                          f"unless you add --allow-remote-without-auth" if command == "serve" else
                          f"the demo runs without auth, so it listens on loopback only, not {settings.host}",
                          USAGE)


def _run(args: argparse.Namespace) -> int:
    if args.command == "export-schema":
        from graph_api.schema import sdl

        text = sdl()
        if args.output:
            Path(args.output).write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    if args.command == "serve":
        settings = _settings(args)
        _check_auth(settings, "serve")
        return serve(settings, listen(settings))
    if args.command == "demo":
        from graph_api.demo import build_demo

        # the demo is for the machine it runs on: auth off, on loopback
        settings = _settings(args, auth="off", allow_remote_without_auth=False)
        if not args.no_serve:
            _check_auth(settings, "demo")
        # a busy port is found before the demo is built, not after
        sock = None if args.no_serve else listen(settings)
        build_demo(settings, _open_lake(settings))
        return OK if sock is None else serve(settings, sock)
    if args.command == "lake":
        return _lake(args)
    if args.command == "token":
        return _token(args)
    from graph_api import commands

    return commands.run(args, _settings)


def listen(settings: Settings) -> socket.socket:
    """The server's socket, bound to --host/--port (as uvicorn binds it), or CannotServe."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        raise CannotServe(f"cannot listen on {settings.host}:{settings.port}: {reason}", CANNOT_LISTEN) from None
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings, sock: socket.socket) -> int:
    """Serve on ``sock`` until interrupted. The lake is opened (and the port bound) before the URL is printed."""
    import uvicorn

    from graph_api.http import logs

    logs.configure(settings.log_format, settings.log_level)
    try:
        app = _open_app(settings)
    except BaseException:
        sock.close()
        raise
    options: dict[str, Any] = dict(host=settings.host, port=settings.port, log_level=settings.log_level,
                                   log_config=None, access_log=False)
    if settings.auth == "off":
        print(f"WARNING: authentication is OFF: every request to {settings.host}:{settings.port} may read and "
              f"write every title, restricted ones included. For local use only; serve with --auth on (the "
              f"default) and `mediagraph token create` for anything else.", file=sys.stderr, flush=True)
    print(f"GraphiQL: http://{settings.host}:{settings.port}/graphql   (lake: {settings.lake})", flush=True)
    if app is None:
        # each worker is a fresh (spawned) process that builds its settings and app from the environment
        os.environ.update(_settings_env(settings))
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            import tempfile

            # the workers' metrics meet here, so that a scrape adds up all of them
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mediagraph-metrics-")
        # uvicorn binds the workers' socket itself: ours only proved the port free
        sock.close()
        uvicorn.run("graph_api.http.app:app_from_env", factory=True, workers=settings.workers, **options)
        return OK
    server = uvicorn.Server(uvicorn.Config(app, **options))
    server.run(sockets=[sock])
    # uvicorn's own rule (uvicorn.run): a server that never started failed to start
    return OK if server.started else CANNOT_LISTEN


def _open_app(settings: Settings) -> Any:
    """The app for one worker (None with --workers N: each builds its own); CannotServe when the lake fails."""
    from graph_api.errors import Unavailable

    if settings.workers > 1:
        _open_lake(settings, background_compaction=False)
        return None
    from graph_api.http.app import create_app

    try:
        return create_app(settings)
    except Unavailable as exc:
        raise CannotServe(exc.message, LAKE_UNAVAILABLE) from None


def _open_lake(settings: Settings, **options: Any) -> Any:
    """The lake of ``serve`` and ``demo``; CannotServe when it cannot be opened."""
    from graph_api.errors import Unavailable
    from graph_api.lake import Lake

    try:
        return Lake.from_settings(settings, **options)
    except Unavailable as exc:
        raise CannotServe(exc.message, LAKE_UNAVAILABLE) from None


def _settings_env(settings: Settings) -> dict[str, str]:
    import dataclasses

    from graph_api.settings import ENV_PREFIX

    return {ENV_PREFIX + f.name.upper(): str(getattr(settings, f.name))
            for f in dataclasses.fields(settings) if f.name != "storage_options"}


def _lake(args: argparse.Namespace) -> int:
    from graph_api.errors import LakeNotFound
    from graph_api.lake import Lake

    settings = _settings(args)
    try:
        # stats only reads: a mistyped --lake must not leave an empty lake behind
        lake = Lake.from_settings(settings, background_compaction=False, create=args.action != "stats")
    except LakeNotFound as exc:
        print(f"mediagraph lake {args.action}: {exc}", file=sys.stderr)
        return LAKE_UNAVAILABLE
    if lake.created:
        print(f"created lake at {settings.lake}", file=sys.stderr)
    if args.action == "stats":
        report = lake.stats()
        if args.json:
            print(json.dumps(report, indent=2, default=str))
            return 0
        print(f"{'table':<28} {'rows':>10} {'fragments':>9} {'small':>6} {'versions':>8}  indexes")
        for name, s in report.items():
            print(f"{name:<28} {s['rows']:>10} {s['fragments']:>9} {s['small_fragments']:>6} {s['versions']:>8}  "
                  f"{', '.join(s['indexes'])}")
        return 0
    from graph_api.lake.lineage import open_lineage

    swept = open_lineage(lake, settings).sweep()
    swept["embedding_tables"] = len(lake.embeddings.sweep_orphans())
    print("swept what crashed writes left invisible: " + ", ".join(f"{v} {k.replace('_', ' ')}"
                                                                   for k, v in swept.items()), file=sys.stderr)
    report = lake.optimize(progress=lambda name: print(f"optimizing {name} ...", file=sys.stderr, flush=True))
    for name, r in report.items():
        print(f"{name:<28} fragments {r['fragments_before']} -> {r['fragments_after']}")
    return 0


def _token(args: argparse.Namespace) -> int:
    from graph_api.errors import LakeNotFound
    from graph_api.lake.connection import Connection
    from graph_api.lake.tokens import open_tokens

    settings = _settings(args)
    try:
        # only create makes a lake: listing or revoking in a mistyped --lake must not leave one behind
        connection = Connection(settings.lake, storage_options=dict(settings.storage_options),
                                background_compaction=False, create=args.action == "create")
    except LakeNotFound as exc:
        print(f"mediagraph token {args.action}: {exc}", file=sys.stderr)
        return USAGE
    tokens = open_tokens(connection)
    if args.action == "create":
        titles = [t.strip() for t in (args.titles or "").split(",") if t.strip()]
        record, secret = tokens.create(args.name, args.scopes.split(","), title_ids=titles,
                                       all_titles=args.all_titles)
        print(f"created token {record.id} ({record.name}): scopes {','.join(record.scopes)}; titles "
              f"{_titles_of(record)}. It is shown once, below: keep it secret; send it as "
              f"'Authorization: Bearer <token>'.", file=sys.stderr)
        print(secret)
        return OK
    if args.action == "revoke":
        record = tokens.revoke(args.id)
        print(f"revoked token {record.id} ({record.name}); servers refuse it within "
              f"{settings.token_refresh_seconds:g} s", file=sys.stderr)
        return OK
    records = tokens.list()
    if args.json:
        print(json.dumps([{"id": r.id, "name": r.name, "scopes": list(r.scopes), "titles": list(r.title_ids),
                           "allTitles": r.all_titles, "createdAt": r.created_at.isoformat(),
                           "lastUsedAt": r.last_used_at.isoformat() if r.last_used_at else None,
                           "revokedAt": r.revoked_at.isoformat() if r.revoked_at else None} for r in records],
                         indent=2))
        return OK
    print(f"{'id':<16}  {'name':<20} {'scopes':<16} {'created':<20} {'last used':<20} {'revoked':<20} titles")
    for r in records:
        print(f"{r.id:<16}  {r.name[:20]:<20} {','.join(r.scopes):<16} {_when(r.created_at):<20} "
              f"{_when(r.last_used_at):<20} {_when(r.revoked_at):<20} {_titles_of(r)}")
    return OK


def _titles_of(record: Any) -> str:
    if record.all_titles:
        return "all"
    return ",".join(record.title_ids) if record.title_ids else "unrestricted only"


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


if __name__ == "__main__":
    sys.exit(main())

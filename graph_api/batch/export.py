"""``batch export``: an ML-ready corpus of segments, cut from pinned lake table versions.

The corpus is one table, ``segments.parquet`` (or the Lance dataset ``segments.lance``), one row
per segment, sorted by ``segment_id``:

    segment_id, kind, start, end, text            the segment
    asset_id, asset_version, asset_uri,           the asset it is on (its current version)
    media_type, role
    title_id, title_name, title_kind              the title
    vector_<space>                                one fixed-size float32 list column per space that
                                                  holds vectors of these segments (null where none)

``manifest.json`` beside it names each lake table and the Lance version it was read at, the
filter, the principal, the spaces and their columns, and the row count. ``--manifest`` pins the
same versions again (Lance reads old versions cheaply), so the same corpus comes out however
much was written since, as long as ``lake optimize`` has not cleaned those versions up
(``version_retention_minutes``).

Entitlements come from the lake view of the token's principal: the export reads only through
it, like every request.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from graph_api.batch import where as filters
from graph_api.errors import InvalidArgument
from graph_api.lake import Lake, sql
from graph_api.lake.access import access_for
from graph_api.lake.datasets import write_lance
from graph_api.lake.runs import RUNS_TABLE
from graph_api.lake.schemas import embeddings_schema
from graph_api.lake.tokens import LOCAL, Principal, open_tokens
from graph_api.lake.versions import pin
from graph_api.lake.view import LakeView

MANIFEST = "manifest.json"
CORPUS_VERSION = 1
# corpus column -> segments table column: conditions on these are pushed down into the scan
SEGMENT_FILTERS = {"segment_id": "id", "kind": "kind", "start": "start", "end": "end", "text": "text",
                   "asset_id": "asset_id", "title_id": "title_id"}
FILTER_COLUMNS = {**{c: "number" if c in ("start", "end") else "string" for c in SEGMENT_FILTERS},
                  "media_type": "string", "role": "string", "asset_uri": "string", "title_name": "string",
                  "title_kind": "string"}
PINNED = ("titles", "assets", "segments", "spaces", RUNS_TABLE)


def run(lake: Lake, settings: Any, *, to: str, where: str | None, manifest: str | None, format: str | None,
        token: str | None) -> dict[str, Any]:
    earlier = _read_manifest(manifest) if manifest else None
    if earlier is not None:
        where, format = earlier["filter"], format or earlier["format"]
    format = format or "parquet"
    conditions = filters.parse(where, FILTER_COLUMNS) if where else []
    principal = _principal(lake, token)
    if earlier is not None and earlier["principal"]["token_id"] != principal.token_id:
        cut_by = earlier["principal"]["token_id"]
        raise InvalidArgument(f"manifest {manifest} was cut " + (f"with token {cut_by}: pass that token "
                              "(--token or $MEDIAGRAPH_TOKEN)" if cut_by else "without a token: pass none"),
                              manifest=manifest)
    target = _Target(to, dict(settings.storage_options))
    target.check()
    versions = _pin(lake, earlier["tables"] if earlier else None)
    view = lake if principal.all_titles else lake.with_access(access_for(principal))
    corpus, spaces = _corpus(view, conditions, versions, earlier)
    files = target.write(corpus, format)
    report = {
        "corpus_version": CORPUS_VERSION, "format": format, "filter": where,
        "principal": {"token_id": principal.token_id, "name": principal.name},
        "lake": lake.uri, "tables": versions, "spaces": spaces, "files": files,
        "rows": {"segments": corpus.num_rows},
    }
    report["manifest"] = target.write_manifest(report)
    return report


def _read_manifest(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidArgument(f"cannot read manifest {path}: {exc}", manifest=path) from None
    if not isinstance(data, dict) or data.get("corpus_version") != CORPUS_VERSION or "tables" not in data:
        raise InvalidArgument(f"{path} is not a corpus manifest of this version", manifest=path)
    return data


def _principal(lake: Lake, token: str | None) -> Principal:
    if not token:
        return LOCAL
    principal = open_tokens(lake.connection).authenticate(token)
    if principal is None:
        raise InvalidArgument("the export token is not a live token (mediagraph token list)", token="***")
    return principal


def _pin(lake: Lake, wanted: dict[str, int] | None) -> dict[str, int]:
    """Check every table the export reads out at one version: the manifest's, or the current one."""
    names = set(lake.table_names())
    tables = [t for t in PINNED if t in names]
    if wanted is not None:
        tables = sorted(wanted)
        missing = [t for t in tables if t not in names]
        if missing:
            raise InvalidArgument(f"the lake has no table {', '.join(missing)} of the manifest", tables=missing)
    versions = {}
    for name in tables:
        table = lake.connection.table(name)
        version = wanted[name] if wanted is not None else int(table.version)
        try:
            pin(lake.connection, name, version)  # recorded: lake reads then know the table is pinned
        except Exception as exc:  # noqa: BLE001 - a version cleaned up by `lake optimize`, most likely
            raise InvalidArgument(f"table {name} has no version {version} any more: {exc}", table=name) from None
        versions[name] = version
    if wanted is None:
        for space in lake.embeddings.spaces().values():
            table = lake.connection.open_embeddings_table(space["table_name"], embeddings_schema(space["dimension"]))
            versions[space["table_name"]] = int(table.version)
            pin(lake.connection, space["table_name"], versions[space["table_name"]])
    return dict(sorted(versions.items()))


def _corpus(view: LakeView, conditions: list[filters.Condition], versions: dict[str, int],
            earlier: dict[str, Any] | None) -> tuple[pa.Table, dict[str, dict[str, Any]]]:
    segments = view.scan("segments", filters.to_sql(conditions, SEGMENT_FILTERS),
                         columns=["id", "kind", "start", "end", "text", "asset_id", "title_id", "produced_by"])
    rows = sorted(segments.to_pylist(), key=lambda r: r["id"])
    assets = view.assets.get_many(sorted({r["asset_id"] for r in rows}))
    titles = view.titles.get_many(sorted({r["title_id"] for r in rows}))
    records = []
    for r in rows:
        asset, title = assets.get(r["asset_id"]), titles.get(r["title_id"])
        if asset is None or title is None:  # an asset of a run that is not visible: not in the corpus
            continue
        records.append({"segment_id": r["id"], "kind": r["kind"], "start": r["start"], "end": r["end"],
                        "text": r["text"], "asset_id": asset["id"], "asset_version": asset["version"],
                        "asset_uri": asset["uri"], "media_type": asset["media_type"], "role": asset["role"],
                        "title_id": title["id"], "title_name": title["name"], "title_kind": title["kind"]})
    table = pa.Table.from_pylist(records, schema=CORPUS_SCHEMA)
    keep = filters.mask(table, conditions)
    if keep is not None:
        table = table.filter(keep)
    spaces: dict[str, dict[str, Any]] = {}
    ids = table.column("segment_id").to_pylist()
    for name, space in sorted(view.embeddings.spaces().items()):
        if space["table_name"] not in versions:  # a space made after the manifest's cut
            continue
        found = view.scan(space["table_name"], sql.eq("subject_kind", "SEGMENT"),
                          columns=["subject_id", "vector", "produced_by"])
        vectors = dict(zip(found.column("subject_id").to_pylist(), found.column("vector").to_pylist()))
        if earlier is None and not any(i in vectors for i in ids):
            continue
        if earlier is not None and name not in earlier["spaces"]:
            continue
        column = "vector_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        kind = pa.list_(pa.float32(), int(space["dimension"]))
        table = table.append_column(pa.field(column, kind), pa.array([vectors.get(i) for i in ids], kind))
        spaces[name] = {"column": column, "model": space["model"], "dimension": int(space["dimension"]),
                        "table": space["table_name"], "rows": sum(1 for i in ids if i in vectors)}
    return table, spaces


CORPUS_SCHEMA = pa.schema([
    pa.field("segment_id", pa.string(), nullable=False), pa.field("kind", pa.string(), nullable=False),
    pa.field("start", pa.float64(), nullable=False), pa.field("end", pa.float64(), nullable=False),
    pa.field("text", pa.string()), pa.field("asset_id", pa.string(), nullable=False),
    pa.field("asset_version", pa.int32(), nullable=False), pa.field("asset_uri", pa.string(), nullable=False),
    pa.field("media_type", pa.string(), nullable=False), pa.field("role", pa.string(), nullable=False),
    pa.field("title_id", pa.string(), nullable=False), pa.field("title_name", pa.string(), nullable=False),
    pa.field("title_kind", pa.string(), nullable=False),
])


class _Target:
    """Where the corpus goes: a local directory or an object-store prefix (``s3://``)."""

    def __init__(self, uri: str, storage_options: dict[str, str]) -> None:
        self.uri = uri.rstrip("/") or uri
        self.storage_options = storage_options
        self.remote = "://" in uri and not uri.startswith("file://")
        if self.remote:
            self.fs, self.root = _object_store(uri, storage_options)
        else:
            self.fs, self.root = pafs.LocalFileSystem(), str(Path(uri.removeprefix("file://")).expanduser().resolve())

    def check(self) -> None:
        """Refuse a target that cannot be written, or that already holds a corpus, before reading anything."""
        try:
            info = self.fs.get_file_info(f"{self.root}/{MANIFEST}")
            if info.type != pafs.FileType.NotFound:
                raise InvalidArgument(f"--to {self.uri} already holds a corpus ({MANIFEST}); choose another",
                                      to=self.uri)
            self.fs.create_dir(self.root, recursive=True)
            probe = f"{self.root}/.mediagraph-write-check"
            with self.fs.open_output_stream(probe) as out:
                out.write(b"")
            self.fs.delete_file(probe)
        except InvalidArgument:
            raise
        except (OSError, pa.ArrowException) as exc:
            raise InvalidArgument(f"cannot write to --to {self.uri}: {exc}", to=self.uri) from None

    def write(self, corpus: pa.Table, format: str) -> dict[str, Any]:
        if format == "lance":
            uri = f"{self.uri}/segments.lance" if self.remote else f"{self.root}/segments.lance"
            version = write_lance(uri, corpus, self.storage_options if self.remote else None)
            return {"segments": {"path": "segments.lance", "format": "lance", "version": version}}
        pq.write_table(corpus, f"{self.root}/segments.parquet", filesystem=self.fs)
        return {"segments": {"path": "segments.parquet", "format": "parquet"}}

    def write_manifest(self, report: dict[str, Any]) -> str:
        path = f"{self.root}/{MANIFEST}"
        with self.fs.open_output_stream(path) as out:
            out.write((json.dumps(report, indent=2, sort_keys=True) + "\n").encode())
        return f"{self.uri}/{MANIFEST}"


def _object_store(uri: str, options: dict[str, str]) -> tuple[pafs.FileSystem, str]:
    """Arrow's S3 filesystem from the lake's storage options (the AWS variables LanceDB reads too)."""
    if not uri.startswith("s3://"):
        raise InvalidArgument(f"--to {uri}: a directory or s3://bucket/prefix", to=uri)
    endpoint = options.get("aws_endpoint") or options.get("aws_endpoint_url") or options.get("endpoint")
    scheme = "http" if str(options.get("aws_allow_http", options.get("allow_http", ""))).lower() == "true" else None
    kwargs: dict[str, Any] = {
        "access_key": options.get("aws_access_key_id"), "secret_key": options.get("aws_secret_access_key"),
        "session_token": options.get("aws_session_token"), "region": options.get("aws_region") or options.get("region"),
    }
    if endpoint:
        kwargs["endpoint_override"] = endpoint.split("://", 1)[-1]
        kwargs["scheme"] = scheme or endpoint.split("://", 1)[0] if "://" in endpoint else scheme or "https"
    return pafs.S3FileSystem(**{k: v for k, v in kwargs.items() if v is not None}), uri.removeprefix("s3://").rstrip("/")

"""Where media files live: a local path or an object store (``s3://bucket/key``), reached with the
lake's storage options (``MEDIAGRAPH_STORAGE_*`` / ``AWS_*``, the names LanceDB takes) through pyarrow's
own S3 filesystem, so no second client library is needed.

``open_media`` is the one way to read a media uri; the pipeline writes locally and ``upload``s.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow.fs as pafs


def is_remote(uri: str | Path) -> bool:
    text = str(uri)
    return "://" in text and not text.startswith("file://")


def filesystem(uri: str, storage_options: Mapping[str, str]) -> tuple[pafs.FileSystem, str]:
    """The filesystem holding ``uri`` and the path of ``uri`` inside it."""
    if not is_remote(uri):
        return pafs.LocalFileSystem(), str(Path(uri.removeprefix("file://")).expanduser())
    scheme, _, path = uri.partition("://")
    if scheme not in ("s3", "s3a"):
        raise ValueError(f"media uri {uri!r}: only local paths and s3:// are supported")
    return _s3(storage_options), path


def _s3(options: Mapping[str, str]) -> pafs.S3FileSystem:
    kw: dict[str, Any] = {}
    for ours, theirs in (("aws_access_key_id", "access_key"), ("aws_secret_access_key", "secret_key"),
                         ("aws_session_token", "session_token"), ("aws_region", "region")):
        if options.get(ours):
            kw[theirs] = options[ours]
    endpoint = options.get("aws_endpoint") or options.get("aws_endpoint_url")
    if endpoint:
        # LanceDB takes a URL ("http://host:port"); pyarrow takes the host and the scheme apart
        parts = urlsplit(endpoint if "://" in endpoint else "https://" + endpoint)
        kw["endpoint_override"] = parts.netloc
        kw["scheme"] = parts.scheme
    return pafs.S3FileSystem(**kw)


def open_media(uri: str, storage_options: Mapping[str, str]) -> Any:
    """A seekable binary file (``read``, ``seek``, ``close``) with the bytes at ``uri``; PyAV opens it too."""
    fs, path = filesystem(uri, storage_options)
    return fs.open_input_file(path)


def join(root: str, *parts: str) -> str:
    """``root`` and ``parts`` joined with "/" (object keys are not os paths)."""
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


def upload(local: Path, uri: str, storage_options: Mapping[str, str]) -> None:
    """Copy the local file ``local`` to ``uri``."""
    fs, path = filesystem(uri, storage_options)
    pafs.copy_files(str(local), path, source_filesystem=pafs.LocalFileSystem(), destination_filesystem=fs)


def delete_tree(uri: str, storage_options: Mapping[str, str]) -> None:
    """Remove every file under ``uri``; nothing there is not an error."""
    fs, path = filesystem(uri, storage_options)
    try:
        fs.delete_dir(path)
    except (FileNotFoundError, OSError):
        pass


def demo_media_dir(lake_uri: str) -> Path:
    """``<lake's parent>/demo-media``, unless that is remote or inside a git work tree (never write
    generated media into a repository): then ``~/.cache/mediagraph/demo-media-<hash of the lake>``."""
    local = "://" not in lake_uri or lake_uri.startswith("file://")
    if local:
        candidate = Path(lake_uri.removeprefix("file://")).expanduser().resolve().parent / "demo-media"
        if not _in_git_work_tree(candidate):
            return candidate
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mediagraph"
    return cache / f"demo-media-{hashlib.sha1(lake_uri.encode()).hexdigest()[:12]}"


def _in_git_work_tree(path: Path) -> bool:
    return any((p / ".git").exists() for p in [path, *path.parents])

"""Which version of a table is the latest, cheaply, and which version a caller pinned a table at.

LanceDB's ``table.version`` (read consistency 0) and pylance's ``dataset.latest_version`` find the
latest version by reading the whole ``_versions/`` directory: its cost grows with the versions the
retention keeps (0.07 ms at 200, ~5 ms at 9,300 after a burst of single writes), on every read.

On a local filesystem Lance (pylance 14) writes ``_versions/latest_version_hint.json``
(``{"version": N}``) after each commit, best-effort. The hint may be behind the truth (a writer
that crashed between its manifest and its hint; two writers whose hint writes crossed, the older
number landing last), never ahead: it is written only once manifest N is in place, and a cleanup
never removes the latest version. Manifests are named ``{u64::MAX - version:020}.manifest`` (V2)
and versions are contiguous, so reading the hint H and then testing for manifests H+1, H+2, ...
until one is missing gives the latest version at this instant, as exactly as a listing, in a
couple of file reads: read-your-writes holds within a process and across processes.

When that cannot answer (no hint, a hint that does not parse or names no V2 manifest, a hint more
than ``MAX_PROBE_STEPS`` behind, a lake on object storage) the caller's own check is used. On S3
Lance writes no hint (its listing is lexically ordered, so the V2 name of the latest version
comes first in one LIST request): there the fallback is already cheap.

Pins: an export reads every table at one version (``graph_api.batch.export``). ``pin`` checks the
LanceDB table out at it and records it, so a reader (``snapshots``) knows the table is pinned
without asking LanceDB (which costs the listing above) or looking at private attributes.
"""
from __future__ import annotations

import functools
import json
import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

VERSIONS_DIR = "_versions"
HINT_FILE = "latest_version_hint.json"
# a hint this far behind means the hint is not being written (or is stuck): list instead
MAX_PROBE_STEPS = 8
_U64_MAX = 2**64 - 1


def manifest_name(version: int) -> str:
    """The V2 file name of ``version``'s manifest."""
    return f"{_U64_MAX - version:020d}.manifest"


def local_root(uri: str) -> Path | None:
    """The directory of the dataset at ``uri``, or None when it is not on a local filesystem."""
    if uri.startswith("file://"):
        return Path(uri.removeprefix("file://"))
    if "://" in uri:
        return None
    return Path(uri)


@functools.lru_cache(maxsize=4096)
def _versions_prefix(uri: str) -> str | None:
    root = local_root(uri)
    # absolute, as Lance resolved it when the dataset was opened
    return None if root is None else os.path.join(os.path.abspath(root), VERSIONS_DIR, "")


def read_hint(prefix: str) -> int | None:
    """The version ``_versions/`` (at ``prefix``) names in its hint file; None without a readable one."""
    # os.open/os.read: a fifth of the cost of open() and its buffered file object, on every read
    try:
        fd = os.open(prefix + HINT_FILE, os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        hint = json.loads(data)["version"]
    except (ValueError, KeyError, TypeError):
        return None
    return hint if isinstance(hint, int) and not isinstance(hint, bool) and hint >= 1 else None


def probe_latest(uri: str) -> int | None:
    """The latest version of the Lance dataset at ``uri`` from its version hint and a test per newer
    manifest; None when that cannot tell (see the module docstring)."""
    prefix = _versions_prefix(uri)
    if prefix is None:
        return None
    hint = read_hint(prefix)
    # the hinted manifest must be there: otherwise the table uses V1 names, or the hint is stale past cleanup
    if hint is None or not os.path.exists(prefix + manifest_name(hint)):
        return None
    version = hint
    for _ in range(MAX_PROBE_STEPS):
        if not os.path.exists(prefix + manifest_name(version + 1)):
            return version
        version += 1
    return None


def latest_version(uri: str, fallback: Callable[[], int]) -> int:
    """The latest version of the dataset at ``uri``: probed, else ``fallback()`` (a listing)."""
    found = probe_latest(uri)
    return found if found is not None else int(fallback())


def latest_of(dataset: Any) -> int:
    """The latest version of a pylance dataset (not the version it is checked out at)."""
    return latest_version(dataset.uri, lambda: dataset.latest_version)


# --- pins ---------------------------------------------------------------------------------
class Tables(Protocol):
    """What a pin needs of a ``Connection``: its open tables by name. (A protocol, not the class: this
    module imports nothing of the lake, so ``connection`` may use it.)"""

    def table(self, name: str) -> Any: ...


# per connection (weakly, like the datasets in ``snapshots``): table name -> the version it is pinned at
_PINS: weakref.WeakKeyDictionary[Tables, dict[str, int]] = weakref.WeakKeyDictionary()
_PINS_LOCK = threading.Lock()


def pin(connection: Tables, name: str, version: int) -> None:
    """Check ``connection``'s table ``name`` out at ``version``: its reads stay there until ``unpin``.
    Raises what LanceDB raises for a version that is not there (cleaned up, say)."""
    connection.table(name).checkout(version)
    with _PINS_LOCK:
        _PINS.setdefault(connection, {})[name] = int(version)


def unpin(connection: Tables, name: str) -> None:
    """Let table ``name`` follow its latest version again."""
    with _PINS_LOCK:
        pins = _PINS.get(connection)
        if pins is None or pins.pop(name, None) is None:
            return
    connection.table(name).checkout_latest()


def pinned(connection: Tables, name: str) -> int | None:
    """The version table ``name`` is pinned at through ``pin``, or None when it follows the latest."""
    pins = _PINS.get(connection)
    return None if pins is None else pins.get(name)


def read_version(connection: Tables, name: str, uri: str, fallback: Callable[[], int]) -> int:
    """The version a read of ``connection``'s table ``name`` (a Lance dataset at ``uri``) should see: its
    pin, else its latest version (probed, else ``fallback()``)."""
    at = pinned(connection, name)
    if at is not None:
        return at
    return latest_version(uri, fallback)

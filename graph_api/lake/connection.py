"""The lake's connection: one LanceDB database, its tables and their indexes, batched writes
under one write lock, group commit, automatic compaction, and the counters.

Group commit. Writes that arrive while another commits wait for it, and then the next of them to get
the lock commits them all at once (``group``; plain appends through ``add`` do it by themselves): one
LanceDB commit costs about the same for 4 rows as for 400, so under concurrent small writes the
commits per second, not the rows, are what is scarce. Each caller's rows are in exactly one commit,
so a caller's batch stays all-or-nothing; the callers of one group share its outcome.

It applies no access rule and hides nothing: readers read through a ``LakeView``
(``graph_api.lake.view``), which is bound to who is reading.
"""
from __future__ import annotations

import atexit
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

import lancedb
import pyarrow as pa
from lancedb.index import BTree

from graph_api.errors import LakeNotFound, Unavailable
from graph_api.lake import compaction, indexes, versions
from graph_api.lake.counters import Counters, note_read
from graph_api.lake.schemas import EMBEDDING_INDEXED, TABLES
from graph_api.settings import storage_options_from

log = logging.getLogger(__name__)

# check fragment counts every this many writes to a table, not on every write
COMPACTION_CHECK_EVERY = 8
COMPACTION_ATTEMPTS = 3
# removing old versions' files lists every version and data file of the table (on S3, pages of LIST
# requests): after every compaction that listing came to dominate a stream of small writes (most of a
# replica's time, 2 replicas x 4 writers on SeaweedFS), so it runs at most this often per table; files
# outlive the retention by at most this much
CLEANUP_EVERY_SECONDS = 60.0
# a table no one has written for this long is compacted whenever a tier is full or rows are not indexed
# yet: a stream of writes that stops below the threshold would otherwise leave readers scanning its tail
IDLE_COMPACTION_SECONDS = 2.0
# only writes this small arm the idle timer: a bulk load pausing between batches must not be
# compacted (under its write lock) halfway through
IDLE_WRITE_MAX_ROWS = 1_000
# a commit that conflicts with another writer's (LanceDB rebases most of them itself; what it cannot is
# raised) is tried again this many times in all, after an exponential, jittered backoff
COMMIT_ATTEMPTS = 6
COMMIT_BACKOFF_SECONDS = 0.02
# at most this many rows are merged into one group commit (bigger writes commit alone)
GROUP_MAX_ROWS = 10_000

# at exit, how long a process waits for its connections' background compactions to finish
SETTLE_AT_EXIT_SECONDS = 60.0

T = TypeVar("T")
R = TypeVar("R")


def is_commit_conflict(exc: BaseException) -> bool:
    """A commit refused because another writer committed first: nothing was written, so it may be retried."""
    text = str(exc).lower()
    return "conflict" in text and ("commit" in text or "retryable" in text or "concurrent" in text)


def _local_path(uri: str) -> Path | None:
    if "://" in uri and not uri.startswith("file://"):
        return None
    return Path(uri.removeprefix("file://")).expanduser()


@dataclass(eq=False)
class _Queued(Generic[T]):
    """One caller's write, waiting for a group commit."""

    item: T
    key: Hashable
    rows: int
    done: bool = False
    result: Any = None
    error: BaseException | None = None


@dataclass(eq=False)
class _Group:
    """The writes waiting to be committed together under one name."""

    lock: threading.RLock | threading.Lock = field(default_factory=threading.Lock)
    queued: list[_Queued[Any]] = field(default_factory=list)
    guard: threading.Lock = field(default_factory=threading.Lock)


class Connection:
    def __init__(
        self,
        uri: str,
        *,
        storage_options: dict[str, str] | None = None,
        read_consistency_seconds: float = 0.0,
        compact_small_fragments: int = 24,
        version_retention_minutes: float = 10.0,
        background_compaction: bool = True,
        max_batch: int = 10_000,
        ann_index_min_rows: int = 50_000,
        create: bool = True,
    ) -> None:
        """Open the lake at ``uri``; ``create=False`` raises ``LakeNotFound`` instead of creating
        one (a read-only command must not leave an empty lake behind a mistyped path). Without
        ``storage_options`` the environment's are used (``MEDIAGRAPH_STORAGE_*``, ``AWS_*``), as a
        command would: a lake opened from Python reaches the same object store."""
        self.uri = uri
        self.storage_options = dict(storage_options or storage_options_from(os.environ))
        local = _local_path(uri)
        if not create and local is not None and not local.exists():
            # checked before connecting: connecting to a local path creates its directory
            raise LakeNotFound(f"lake {uri} does not exist", uri=uri)
        try:
            self.db = lancedb.connect(
                uri,
                storage_options=self.storage_options or None,
                read_consistency_interval=timedelta(seconds=read_consistency_seconds),
            )
            existing = set(self.table_names())
        except Exception as exc:  # noqa: BLE001 - any backend failure is "unreachable"
            raise Unavailable(f"cannot open lake {uri!r}: {exc}") from exc
        # a lake is there when any of its own tables is (lineage adds its tables later)
        self.created = not existing.intersection(TABLES)
        if self.created and not create:
            raise LakeNotFound(f"lake {uri} does not exist", uri=uri)
        self.counters = Counters()
        self.compact_small_fragments = compact_small_fragments
        # Lance keeps every version's files until a cleanup; compaction rewrites data, so without
        # one a stream of small writes fills the disk (seen: 74 GB after 8,500 writes at 1M rows)
        self.version_retention = timedelta(minutes=version_retention_minutes)
        self.max_batch = max_batch
        # a space gets an ANN index once it holds this many vectors; below, vector search is exact
        self.ann_index_min_rows = ann_index_min_rows
        self.background_compaction = background_compaction
        self.write_lock = threading.RLock()
        self._tables: dict[str, Any] = {}
        self._derived: dict[tuple[str, str], tuple[int, Any]] = {}
        self._table_lock = threading.Lock()
        self._writes_since_check: dict[str, int] = {}
        self._compacting: set[str] = set()
        self._cleaned_at: dict[str, float] = {}  # table -> monotonic time of its last cleanup
        self._checking = 0  # compaction checks running in the background
        self._idle_timers: dict[str, threading.Timer] = {}
        self._background: weakref.WeakSet[threading.Thread] = weakref.WeakSet()  # compactions and their checks
        _OPEN.add(self)
        self._groups: dict[str, _Group] = {}
        for name, (schema, indexed) in TABLES.items():
            self._open_or_create(name, schema, indexed)
        indexes.ensure_text_indexes(self)

    # --- tables -------------------------------------------------------------------
    def _open_or_create(self, name: str, schema: pa.Schema, indexed: Iterable[str]) -> Any:
        with self._table_lock:
            if name in self._tables:
                return self._tables[name]
            try:
                table = self.db.open_table(name)
            except (FileNotFoundError, ValueError):
                table = self.db.create_table(name, schema=schema, exist_ok=True)
            except Exception as exc:  # noqa: BLE001
                raise Unavailable(f"cannot open table {name!r} in lake {self.uri!r}: {exc}") from exc
            for column in indexed:
                indexes.ensure_index(table, column, BTree())
            self._tables[name] = table
            return table

    def table(self, name: str) -> Any:
        """An open table: one of the lake's own (created if missing), or any other that exists
        (embedding spaces, lineage's tables); KeyError when there is no such table."""
        table = self._tables.get(name)
        if table is not None:
            return table
        if name in TABLES:
            return self._open_or_create(name, *TABLES[name])
        table = self.existing_table(name)
        if table is None:
            raise KeyError(name)
        return table

    def existing_table(self, name: str) -> Any | None:
        """The table ``name`` if it exists, never creating it."""
        table = self._tables.get(name)
        if table is not None:
            return table
        try:
            table = self.db.open_table(name)
        except (FileNotFoundError, ValueError):
            return None
        with self._table_lock:
            return self._tables.setdefault(name, table)

    def open_embeddings_table(self, name: str, schema: pa.Schema) -> Any:
        return self._open_or_create(name, schema, EMBEDDING_INDEXED)

    def open_or_create(self, name: str, schema: pa.Schema, indexed: Iterable[str] = ()) -> Any:
        """A table outside the lake's own (``schemas.TABLES``), e.g. a store's, with BTREE indexes
        on ``indexed``: created on first use, then kept open like the others."""
        return self._open_or_create(name, schema, indexed)

    def table_names(self) -> list[str]:
        names: list[str] = []
        token = None
        while True:
            page = self.db.list_tables(page_token=token)
            names.extend(page.tables)
            token = page.page_token
            if not token:
                return sorted(names)

    def drop_table(self, name: str) -> None:
        with self._table_lock:
            self._tables.pop(name, None)
            self.db.drop_table(name)

    def table_version(self, name: str) -> int:
        """The version a read of table ``name`` sees: its pin (``versions.pin``), else its latest. On a local
        lake the latest comes from the version hint and a probe (``versions``), not LanceDB's listing of every
        version, which a burst of writes makes cost milliseconds."""
        table = self.table(name)
        local = _local_path(self.uri)
        if local is None:
            return int(table.version)
        return versions.read_version(self, name, str(local / f"{name}.lance"), lambda: int(table.version))

    def cached(self, table: str, key: str, compute: Callable[[], Any]) -> Any:
        """A value derived from ``table`` (its space rows, its indexes), recomputed when the table's
        version moves: hot read paths such as search then skip a read per request. The value is
        shared by every view, so it must not depend on who reads (no rows the access rule filters)."""
        version = self.table_version(table)
        entry = self._derived.get((table, key))
        if entry is not None and entry[0] == version:
            return entry[1]
        value = compute()
        self._derived[(table, key)] = (version, value)
        return value

    def count_read(self, table: str) -> None:
        self.counters.read(table)
        note_read()

    # --- writes ------------------------------------------------------------------------
    def add(self, table: str, rows: pa.Table) -> None:
        """Append ``rows`` in one commit; appends to ``table`` from other threads meanwhile share it."""
        if rows.num_rows == 0:
            return
        # appends group by schema: their rows are concatenated into one table
        self.group(f"add:{table}", rows, lambda batch: self._add_many(table, batch), key=rows.schema,
                   rows=rows.num_rows)
        # outside the group's lock: an inline compaction takes the write lock, which a queued writer may hold
        self._wrote(table, rows.num_rows)

    def _add_many(self, table: str, batch: Sequence[pa.Table]) -> list[None]:
        rows = batch[0] if len(batch) == 1 else pa.concat_tables(batch)
        self._commit(table, lambda: self.table(table).add(rows))
        return [None] * len(batch)

    def group(self, name: str, item: T, commit: Callable[[list[T]], Sequence[R | BaseException]], *,
              key: Hashable = None, rows: int = 1, lock: threading.RLock | None = None) -> R:
        """Run ``commit([item, ...])`` with ``item`` and the items other threads queued under ``name`` and
        ``key`` meanwhile (at most ``GROUP_MAX_ROWS`` and ``max_batch`` rows in all); returns this item's outcome.

        ``commit`` gets the items in the order they came and returns one outcome per item, a result or
        the exception that item raises; when it raises, every item of the group raises that. Only one
        ``commit`` of a name runs at a time, under ``lock`` when one is given (e.g. ``write_lock``, whose
        holder may read before it writes and be sure no write of this process came in between)."""
        with self._table_lock:
            group = self._groups.get(name)
            if group is None:
                group = self._groups[name] = _Group(lock or threading.Lock())
        queued: _Queued[T] = _Queued(item, key, rows)
        with group.guard:
            group.queued.append(queued)
        with group.lock:
            if not queued.done:
                with group.guard:
                    batch = self._take(group, queued)
                try:
                    outcomes = list(commit([q.item for q in batch]))
                    if len(outcomes) != len(batch):
                        raise RuntimeError(f"group commit {name}: {len(outcomes)} outcomes for {len(batch)} writes")
                except BaseException as exc:  # noqa: BLE001 - every caller of the group gets it
                    outcomes = [exc] * len(batch)
                for q, outcome in zip(batch, outcomes, strict=True):
                    if isinstance(outcome, BaseException):
                        q.error = outcome
                    else:
                        q.result = outcome
                    q.done = True
        if queued.error is not None:
            raise queued.error
        return queued.result

    def _take(self, group: _Group, first: _Queued[Any]) -> list[_Queued[Any]]:
        """``first`` and the queued items of its key that fit beside it, in order (the caller holds the guard)."""
        # a group beyond the batch limit would be refused as a whole and then checked item by item
        limit = min(GROUP_MAX_ROWS, self.max_batch)
        batch, left, total = [first], [], first.rows
        for q in group.queued:
            if q is first:
                continue
            if q.key == first.key and total + q.rows <= limit:
                batch.append(q)
                total += q.rows
            else:
                left.append(q)
        group.queued = left
        return batch

    def merge(self, table: str, rows: pa.Table, on: str | list[str]) -> None:
        if rows.num_rows == 0:
            return
        self._commit(table, lambda: (
            self.table(table)
            .merge_insert(on)
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute(rows)
        ))
        self._wrote(table, rows.num_rows)

    def delete(self, table: str, where: str) -> None:
        self._commit(table, lambda: self.table(table).delete(where))
        self._wrote(table, 0)

    def _commit(self, table: str, write: Callable[[], Any]) -> None:
        """Run one commit, retrying it with backoff while it conflicts with other writers' commits; the
        retries are counted (``counters.conflict_retries``, ``mediagraph_lake_commit_conflict_retries``)."""
        for attempt in range(COMMIT_ATTEMPTS):
            try:
                write()
                return
            except Exception as exc:
                if attempt + 1 == COMMIT_ATTEMPTS or not is_commit_conflict(exc):
                    raise
                self.counters.conflict_retries += 1
                delay = COMMIT_BACKOFF_SECONDS * (2 ** attempt) * (0.5 + random.random())
                log.info("commit to table %s conflicted (attempt %d): retrying in %.0f ms: %s", table,
                         attempt + 1, delay * 1000, exc)
                time.sleep(delay)

    def _wrote(self, table: str, rows: int) -> None:
        self.counters.wrote(table, rows)
        count = self._writes_since_check.get(table, 0) + 1
        self._writes_since_check[table] = count
        if count >= COMPACTION_CHECK_EVERY:
            self._writes_since_check[table] = 0
            if self.background_compaction:
                # reading the fragment counts costs a read of the table: not on the writer's time either
                with self._table_lock:
                    self._checking += 1
                self._spawn(self._check_compaction, table, f"compact-check-{table}")
            else:
                self.maybe_compact(table)
        if self.background_compaction and rows < IDLE_WRITE_MAX_ROWS:
            self._compact_when_idle(table)
        if indexes.is_space_table(table):
            opened = self._tables.get(table)
            if opened is not None:
                indexes.after_write(opened, table, min_rows=self.ann_index_min_rows, key=(self.uri, table),
                                    background=self.background_compaction)

    # --- maintenance --------------------------------------------------------------------
    def _spawn(self, target: Callable[[str], None], table: str, name: str) -> None:
        thread = threading.Thread(target=target, args=(table,), daemon=True, name=name)
        self._background.add(thread)
        thread.start()

    def settle(self, timeout: float = SETTLE_AT_EXIT_SECONDS) -> None:
        """Cancel the idle compactions not started yet and wait (at most ``timeout`` s) for the background
        compactions running. A process runs this for every connection before it exits: a daemon thread
        stopped at exit inside LanceDB's native code aborts the whole process ("exception not rethrown")."""
        with self._table_lock:
            timers = list(self._idle_timers.values())
            self._idle_timers.clear()
        for timer in timers:
            timer.cancel()
        deadline = time.monotonic() + timeout
        for timer in timers:  # one that already fired may be starting a compaction
            timer.join(max(0.0, deadline - time.monotonic()))
        while time.monotonic() < deadline:
            running = [thread for thread in list(self._background) if thread.is_alive()]
            if not running:
                return
            for thread in running:  # a check may start a compaction: look again until none runs
                thread.join(max(0.0, deadline - time.monotonic()))

    def _compact_when_idle(self, table: str) -> None:
        """(Re)start ``table``'s idle timer: each write pushes the idle compaction back."""
        with self._table_lock:
            previous = self._idle_timers.pop(table, None)
            if previous is not None:
                previous.cancel()
            timer = threading.Timer(IDLE_COMPACTION_SECONDS, self._idle_compact, args=(table,))
            timer.daemon = True
            timer.name = f"idle-compact-{table}"
            self._idle_timers[table] = timer
            timer.start()

    def _check_compaction(self, table: str) -> None:
        try:
            self.maybe_compact(table)
        except Exception as exc:  # noqa: BLE001 - the lake may be gone (a test's tmp dir); nothing waits on this
            log.debug("compaction check of table %s skipped: %s", table, exc)
        finally:
            with self._table_lock:
                self._checking -= 1

    def _idle_compact(self, table: str) -> None:
        try:
            self.maybe_compact(table, idle=True)
        except Exception as exc:  # noqa: BLE001 - the lake may be gone (a test's tmp dir); nothing waits on this
            log.debug("idle compaction of table %s skipped: %s", table, exc)

    def maybe_compact(self, table: str, *, idle: bool = False) -> bool:
        """Compact ``table`` when small fragments have piled up (many small writes slow reads): only the small
        fragments and the index deltas are rewritten (``compaction``): once a merge would take
        ``compact_small_fragments`` of them or, ``idle`` (no one has written for a while), any full tier, and
        rows no index covers yet are indexed."""
        if not compaction.needs_compaction(self.table(table), index_tail=idle,
                                           min_merged=1 if idle else self.compact_small_fragments):
            return False
        with self._table_lock:  # the idle timer and a writer may both get here
            if table in self._compacting:
                return False
            self._compacting.add(table)
        if self.background_compaction:
            self._spawn(self._compact, table, f"compact-{table}")
        else:
            self._compact(table)
        return True

    def _compact(self, table: str) -> None:
        # Beside the writes, without the write lock: appends committed meanwhile are rebased over the
        # fragment rewrite, and an update of a row in a fragment being merged makes one of the two commits
        # conflict, which is tried again (a writer's by ``_commit``, the merge here). One tier's merge is
        # small (24 single-row fragments: 0.02 s at 1M rows), but a bigger tier's took seconds, which under
        # the lock every writer waited for.
        try:
            merged = self._compact_step(table, "compaction", lambda: compaction.merge_small_fragments(
                self.table(table)))
            if merged is None:
                return
            now = time.monotonic()
            cleanup = now - self._cleaned_at.get(table, -CLEANUP_EVERY_SECONDS) >= CLEANUP_EVERY_SECONDS
            if cleanup:
                self._cleaned_at[table] = now
            tidied = self._compact_step(table, "index update", lambda: compaction.update_indexes(
                self.table(table), retention=self.version_retention, cleanup=cleanup))
            self.counters.compactions += 1
            log.info("compacted table %s: %s; %s", table, merged, tidied)
        finally:
            self._compacting.discard(table)

    def _compact_step(self, table: str, what: str, step: Callable[[], compaction.CompactionReport]
                      ) -> compaction.CompactionReport | None:
        for attempt in range(COMPACTION_ATTEMPTS):
            try:
                return step()
            except Exception as exc:  # noqa: BLE001 - a failed compaction must not fail a write
                conflict = "conflict" in str(exc).lower()
                if attempt + 1 == COMPACTION_ATTEMPTS or not conflict:
                    # writers kept winning the race (the merge runs beside them): the next check tries again
                    log.log(logging.INFO if conflict else logging.WARNING, "%s of table %s %s: %s", what, table,
                            "put off" if conflict else "failed", exc)
                    return None
                time.sleep(COMMIT_BACKOFF_SECONDS * (2 ** attempt) * (0.5 + random.random()))
        return None

    @property
    def compacting(self) -> bool:
        """True while a background compaction runs."""
        return bool(self._compacting)

    @property
    def compaction_pending(self) -> bool:
        """True while a compaction runs or an idle compaction is scheduled."""
        return bool(self._compacting) or self._checking > 0 or any(
            t.is_alive() for t in list(self._idle_timers.values()))

    def optimize(self, progress: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
        """Compact every table and bring its indexes up to date."""
        report: dict[str, dict[str, Any]] = {}
        for name in self.table_names():
            if progress:
                progress(name)
            table = self.table(name)
            before = table.stats()["fragment_stats"]["num_fragments"]
            # build or retrain first; optimize() extends the rest
            ann = indexes.refresh(name, table, min_rows=self.ann_index_min_rows)
            table.optimize(cleanup_older_than=self.version_retention)
            after = table.stats()["fragment_stats"]["num_fragments"]
            report[name] = {"fragments_before": before, "fragments_after": after}
            if ann:
                report[name]["ann_index"] = ann
        return report

    def stats(self) -> dict[str, dict[str, Any]]:
        report = {}
        for name in self.table_names():
            table = self.table(name)
            stats = table.stats()
            report[name] = {
                "rows": stats["num_rows"],
                "fragments": stats["fragment_stats"]["num_fragments"],
                "small_fragments": stats["fragment_stats"]["num_small_fragments"],
                "versions": len(table.list_versions()),
                "version": table.version,
                "bytes": stats["total_bytes"],
                "indexes": sorted(f"{ix.name}({ix.index_type})" for ix in table.list_indices()),
            }
        return report


# every open connection (weakly), settled before the interpreter exits
_OPEN: weakref.WeakSet[Connection] = weakref.WeakSet()


@atexit.register
def _settle_open_connections() -> None:
    for connection in list(_OPEN):
        try:
            connection.settle()
        except Exception as exc:  # noqa: BLE001 - exiting anyway; say what was not waited for
            log.warning("background work of lake %s not settled at exit: %s", connection.uri, exc)

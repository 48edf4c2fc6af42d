"""Live events: what was committed to the lake's tables (titles, assets, runs, reviews, notes, cuts),
read back from the tables themselves, and handed to subscribers under each one's access.

The feed reads committed rows, never in-process signals, so a subscriber served by one worker or
replica sees the writes made through any other. One ``EventFeed`` per process polls for all of its
subscribers, and each poll is cheap: a table is read only when its Lance version moved since the
last poll, and then only the rows newer than that table's cursor.

Cursors. Lake ids are time-ordered (``graph_api.lake.ids``), and ``id`` has a BTREE index, so the
tables whose rows are only ever added (titles, reviews, notes, cuts) are read by an id range. Assets
are read by ``created_at``: a re-delivered version keeps its asset's id but is a new row. Runs by
``recorded_at``: run ids are random. Another process's clock may lag ours and a row stamped before
a commit becomes visible only at the commit, so each read starts ``MARGIN`` before the cursor and
the keys already delivered within that margin are skipped.

Visibility. Rows are read past the access rule once, for every subscriber; each subscriber's
``LakeView`` then decides which events exist for it (``Subscriber.wants``): an event of a title the
view may not see is not delivered, so neither it nor its id reaches that subscriber. A run is an
event once its ``runs`` row is committed (the row that makes a run visible is written last:
``graph_api.lake.runs``); its title is the title of its outputs (of its inputs while it has none),
and it is seen only by those who see every title it wrote into.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import AsyncGenerator, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from graph_api.lake import sql
from graph_api.lake.connection import Connection
from graph_api.lake.runs import RUNS_TABLE
from graph_api.lake.titles import title_tree
from graph_api.lake.view import LakeView
from graph_api.threads import run_sync

log = logging.getLogger(__name__)

EVENT_KINDS = ("TITLE_CREATED", "ASSET_REGISTERED", "RUN_RECORDED", "REVIEW_ADDED", "NOTE_ADDED", "CUT_IMPORTED")
# how far before a cursor each read starts: clock lag between writers, and rows stamped before their commit
MARGIN = timedelta(seconds=10)
# events a subscriber may have waiting; one that falls further behind is ended with an error
MAX_PENDING = 10_000
RUN_OUTPUTS_TABLE = "run_outputs"
RUN_INPUTS_TABLE = "run_inputs"


@dataclass(frozen=True)
class Event:
    kind: str  # one of EVENT_KINDS
    id: str  # of what was created or changed
    title_id: str | None  # the title it belongs to (a run's: its first output's)
    at: datetime
    # every title the event belongs to (a run may write into several): a reader must see them all
    title_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Source:
    """Where one kind of event comes from: ``table``, read by ``cursor`` (``id`` or a time column)."""

    kind: str
    table: str
    cursor: str  # "id" or the name of a timestamp column
    time_column: str = "created_at"
    prefix: str = ""  # the id prefix, for an id cursor
    key: tuple[str, ...] = ("id",)  # what tells two events of this table apart

    @property
    def columns(self) -> list[str]:
        wanted = ["id", self.time_column, *self.key]
        if self.table == "titles":
            return list(dict.fromkeys(wanted))
        if self.table != RUNS_TABLE:
            wanted.append("title_id")
        return list(dict.fromkeys(wanted))


SOURCES = (
    Source("TITLE_CREATED", "titles", "id", prefix="title"),
    Source("ASSET_REGISTERED", "assets", "created_at", key=("row_key",)),
    Source("RUN_RECORDED", RUNS_TABLE, "recorded_at", time_column="recorded_at", key=("id", "recorded_at")),
    Source("REVIEW_ADDED", "reviews", "id", prefix="rev"),
    Source("NOTE_ADDED", "notes", "id", prefix="note"),
    Source("CUT_IMPORTED", "cuts", "id", prefix="cut"),
)


def _id_floor(prefix: str, moment: datetime) -> str:
    # the smallest id ``ids.new_id`` could have made at ``moment``
    millis = int(moment.timestamp() * 1000)
    return f"{prefix}_{max(millis, 0):012x}"


def _ts(moment: datetime) -> str:
    return f"TIMESTAMP '{moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')}Z'"


@dataclass
class _Cursor:
    since: datetime  # rows stamped from MARGIN before this are read
    version: int | None = None  # the table's version at the last read
    seen: dict[tuple[Any, ...], datetime] = field(default_factory=dict)  # keys delivered within the margin


class EventReader:
    """Reads the events committed since the last ``poll`` (past any access rule: ``Subscriber`` applies it)."""

    def __init__(self, connection: Connection, sources: Sequence[Source] = SOURCES,
                 start: datetime | None = None) -> None:
        self.connection = connection
        self.sources = tuple(sources)
        moment = start or datetime.now(UTC)
        self._cursors = {s.kind: _Cursor(moment) for s in self.sources}

    def poll(self) -> list[Event]:
        """The events committed since the last poll, oldest first (by their time, then id)."""
        events: list[Event] = []
        for source in self.sources:
            events.extend(self._poll(source))
        events.sort(key=lambda e: (e.at, e.id))
        return events

    def _poll(self, source: Source) -> list[Event]:
        table = self.connection.existing_table(source.table)
        if table is None:  # runs: lineage never wrote here yet
            return []
        cursor = self._cursors[source.kind]
        version = self.connection.table_version(source.table)
        if version == cursor.version:
            return []
        floor = cursor.since - MARGIN
        if source.cursor == "id":
            where = f"{sql.column('id')} >= {sql.literal(_id_floor(source.prefix, floor))}"
        else:
            where = f"{sql.column(source.cursor)} >= {_ts(floor)}"
        self.connection.count_read(source.table)
        rows = table.search().where(where).select(source.columns).limit(None).to_arrow()
        cursor.version = version
        fresh = [r for r in rows.to_pylist() if tuple(r[k] for k in source.key) not in cursor.seen]
        for row in fresh:
            at: datetime = row[source.time_column]
            cursor.seen[tuple(row[k] for k in source.key)] = at
            if at > cursor.since:
                cursor.since = at
        # forget what fell out of the margin: it is not read again
        floor = cursor.since - MARGIN
        cursor.seen = {k: at for k, at in cursor.seen.items() if at >= floor}
        if not fresh:
            return []
        if source.table == RUNS_TABLE:
            return self._run_events(source, fresh)
        return [self._event(source, row) for row in fresh]

    def _event(self, source: Source, row: dict[str, Any]) -> Event:
        title_id = row["id"] if source.table == "titles" else row.get("title_id")
        return Event(source.kind, row["id"], title_id, row[source.time_column],
                     frozenset([title_id]) if title_id else frozenset())

    def _run_events(self, source: Source, rows: list[dict[str, Any]]) -> list[Event]:
        titles = self.run_titles([r["id"] for r in rows])
        events = []
        for row in rows:
            ordered = titles.get(row["id"], [])
            events.append(Event(source.kind, row["id"], ordered[0] if ordered else None, row[source.time_column],
                                frozenset(ordered)))
        return events

    def run_titles(self, run_ids: Sequence[str]) -> dict[str, list[str]]:
        """The titles each run wrote into, its first output's first: of its outputs, else of its inputs."""
        members = self._members(RUN_OUTPUTS_TABLE, "output_id", run_ids)
        without = [r for r in run_ids if not members.get(r)]
        if without:
            members.update(self._members(RUN_INPUTS_TABLE, "asset_id", without))
        node_titles = self._node_titles({n for ids in members.values() for n in ids})
        found: dict[str, list[str]] = {}
        for run_id in run_ids:
            ordered = [node_titles[n] for n in members.get(run_id, []) if n in node_titles]
            found[run_id] = list(dict.fromkeys(ordered))
        return found

    def _members(self, table_name: str, column: str, run_ids: Sequence[str]) -> dict[str, list[str]]:
        table = self.connection.existing_table(table_name)
        if table is None or not run_ids:
            return {}
        self.connection.count_read(table_name)
        rows = table.search().where(sql.is_in("run_id", run_ids)).select(["run_id", "ordinal", column]) \
            .limit(None).to_arrow().sort_by([("run_id", "ascending"), ("ordinal", "ascending")])
        members: dict[str, list[str]] = {}
        for run_id, node_id in zip(rows.column("run_id").to_pylist(), rows.column(column).to_pylist(), strict=True):
            members.setdefault(run_id, []).append(node_id)
        return members

    def _node_titles(self, node_ids: Collection[str]) -> dict[str, str]:
        # an embedding output is emb:SPACE:SUBJECT: its subject's title
        subjects = {n: n.split(":", 2)[2] if n.startswith("emb:") else n for n in node_ids}
        by_table = {"assets": "asset_", "segments": "seg_", "annotations": "ann_", "cuts": "cut_"}
        titles: dict[str, str] = {}
        for table_name, prefix in by_table.items():
            ids = sorted({s for s in subjects.values() if s.startswith(prefix)})
            if not ids:
                continue
            self.connection.count_read(table_name)
            rows: pa.Table = self.connection.table(table_name).search().where(sql.is_in("id", ids)) \
                .select(["id", "title_id"]).limit(None).to_arrow()
            titles.update(zip(rows.column("id").to_pylist(), rows.column("title_id").to_pylist(), strict=True))
        return {n: titles[s] for n, s in subjects.items() if s in titles}


class FellBehind(Exception):
    """A subscriber left more than ``MAX_PENDING`` events unread: it is ended rather than held in memory."""


class Subscriber:
    """One subscription: its reader's view (which decides what exists for it) and its filters.

    ``title_ids`` covers the titles given and every title under them (a series' events include its
    seasons' and episodes'); None means every title the view sees. ``kinds`` None means every kind."""

    def __init__(self, view: LakeView, title_ids: Iterable[str] | None = None,
                 kinds: Iterable[str] | None = None) -> None:
        self.view = view
        self.title_ids = frozenset(title_ids) if title_ids is not None else None
        self.kinds = frozenset(kinds) if kinds is not None else None
        self.queue: asyncio.Queue[Event | FellBehind] = asyncio.Queue()
        self.behind = False

    def wants(self, event: Event) -> bool:
        """Whether this subscriber gets ``event`` (blocking: the view may read the title tree)."""
        if self.kinds is not None and event.kind not in self.kinds:
            return False
        if self.title_ids is not None:
            covered = title_tree(self.view.connection).with_descendants(self.title_ids)
            if not event.title_ids or not event.title_ids <= covered:
                return False
        # the access rule, from the view: every title the event belongs to must exist for this reader
        return all(self.view.sees_title(t) for t in event.title_ids)

    def deliver(self, event: Event) -> None:
        if self.behind:
            return
        if self.queue.qsize() >= MAX_PENDING:
            self.behind = True
            self.queue.put_nowait(FellBehind(f"more than {MAX_PENDING} events were left unread"))
            return
        self.queue.put_nowait(event)


class EventFeed:
    """The process's one poller: started by the first subscriber, stopped after the last leaves."""

    def __init__(self, connection: Connection, poll_seconds: float = 0.2) -> None:
        self.connection = connection
        self.poll_seconds = poll_seconds
        self._subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._reader: EventReader | None = None
        self._lock = threading.Lock()
        self.polls = 0

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def subscribe(self, view: LakeView, title_ids: Iterable[str] | None = None,
                        kinds: Iterable[str] | None = None) -> AsyncGenerator[Event, None]:
        """The events committed from now on that ``view`` may see and the filters let through."""
        subscriber = Subscriber(view, title_ids, kinds)
        await self._join(subscriber)
        try:
            while True:
                item = await subscriber.queue.get()
                if isinstance(item, FellBehind):
                    raise item
                yield item
        finally:
            self._leave(subscriber)

    async def _join(self, subscriber: Subscriber) -> None:
        if not self._subscribers:
            # the first subscriber after none: events from now on, not those committed while no one
            # listened (the new reader's first poll marks what its margin holds as delivered)
            reader = await run_sync(self._start_reader)
            if not self._subscribers:
                self._reader = reader
        self._subscribers.add(subscriber)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="mediagraph-events")

    def _start_reader(self) -> EventReader:
        reader = EventReader(self.connection)
        reader.poll()
        return reader

    def _leave(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        if not self._subscribers and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        while self._subscribers:
            try:
                routed = await run_sync(self._poll, list(self._subscribers))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a lake that does not answer now may answer at the next poll
                log.warning("event poll failed; retrying", exc_info=True)
                routed = []
            for subscriber, event in routed:
                subscriber.deliver(event)
            await asyncio.sleep(self.poll_seconds)

    def _poll(self, subscribers: list[Subscriber]) -> list[tuple[Subscriber, Event]]:
        with self._lock:
            assert self._reader is not None
            events = self._reader.poll()
            self.polls += 1
        return [(s, e) for e in events for s in subscribers if s.wants(e)]


_FEEDS: weakref.WeakKeyDictionary[Connection, EventFeed] = weakref.WeakKeyDictionary()
_FEEDS_LOCK = threading.Lock()


def feed_for(connection: Connection, poll_seconds: float = 0.2) -> EventFeed:
    """The process's one feed over ``connection``: every subscription of this process shares its poller."""
    with _FEEDS_LOCK:
        feed = _FEEDS.get(connection)
        if feed is None:
            feed = _FEEDS[connection] = EventFeed(connection, poll_seconds)
        return feed


__all__ = ["EVENT_KINDS", "Event", "EventFeed", "EventReader", "FellBehind", "Subscriber", "feed_for"]

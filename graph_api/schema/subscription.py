"""``Subscription.events``: live events over graphql-transport-ws, read from what the lake committed
(``graph_api.lake.events``), so a subscriber on any worker or replica sees every write.

What a subscriber may see is decided by its lake view (the events feed asks it), never here.
"""
from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from graph_api.lake.events import Event as EventRecord
from graph_api.lake.events import feed_for
from graph_api.schema.context import Context
from graph_api.schema.nodes import Title


@strawberry.enum
class EventKind(Enum):
    # graph_api.lake.events.EVENT_KINDS is the source; tests/events check they agree
    TITLE_CREATED = "TITLE_CREATED"
    ASSET_REGISTERED = "ASSET_REGISTERED"
    RUN_RECORDED = "RUN_RECORDED"
    REVIEW_ADDED = "REVIEW_ADDED"
    NOTE_ADDED = "NOTE_ADDED"
    CUT_IMPORTED = "CUT_IMPORTED"


async def _event_title(root: Event, info: Info[Context, None]) -> Title | None:
    title_id = root._record.title_id
    if title_id is None:
        return None
    # a socket's context lives as long as the socket: read the title as it is now, not as first loaded
    loader = info.context.loaders.title
    loader.clear_all()
    row = await loader.load(title_id)
    return Title.from_record(row) if row else None


@strawberry.type
class Event:
    _record: strawberry.Private[EventRecord]
    kind: EventKind
    id: strawberry.ID = strawberry.field(description="the id of what was created or changed")
    title: Title | None = strawberry.field(resolver=_event_title)
    at: datetime

    @classmethod
    def from_record(cls, record: EventRecord) -> Event:
        return cls(_record=record, kind=EventKind(record.kind), id=strawberry.ID(record.id), at=record.at)


@strawberry.type(description="over graphql-transport-ws at /graphql; every replica sees every write's events")
class Subscription:
    @strawberry.subscription(description=(
        "what is committed to the lake from now on, as the caller may see it: a restricted title's events reach "
        "only those granted it. titleIds: events of these titles and of every title under them (a series' "
        "include its seasons' and episodes'); kinds: only these kinds. A run's title is its outputs' title; "
        "ASSET_REGISTERED comes for each new asset version (a re-delivery too). Delivered within the poll "
        "interval (MEDIAGRAPH_EVENTS_POLL_SECONDS, 0.2 s) of the commit, on every worker and replica."))
    async def events(self, info: Info[Context, None], title_ids: list[strawberry.ID] | None = None,
                     kinds: list[EventKind] | None = None) -> AsyncGenerator[Event, None]:
        context = info.context
        feed = feed_for(context.lake.connection, context.settings.events_poll_seconds)
        stream = feed.subscribe(context.lake, title_ids=[str(t) for t in title_ids] if title_ids is not None else None,
                                kinds=[k.value for k in kinds] if kinds is not None else None)
        # closed with the subscription, so the feed forgets this subscriber at once
        async with aclosing(stream):
            async for record in stream:
                yield Event.from_record(record)


__all__ = ["Event", "EventKind", "Subscription"]

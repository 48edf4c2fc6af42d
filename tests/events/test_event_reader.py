"""The event feed over a real lake in a tmp dir, without a server: what a poll reads, each event once,
a run's title from its outputs, and the access rule of each subscriber's view."""
from __future__ import annotations

import asyncio

from graph_api.lake import Lake
from graph_api.lake.access import Access
from graph_api.lake.events import EventFeed, EventReader, Subscriber
from graph_api.lake.lineage import open_lineage
from graph_api.settings import Settings
from tests.conftest import asset_input, make_assets, make_title


def test_a_poll_reads_what_was_committed_since_once_each(lake: Lake) -> None:
    reader = EventReader(lake.connection)
    assert reader.poll() == []
    title = make_title(lake)
    [asset] = make_assets(lake, title["id"], external_id="delivery-1")
    review = lake.reviews.add({"asset_id": asset["id"], "decision": "APPROVED"}, reviewer="me")
    events = reader.poll()
    assert [(e.kind, e.id, e.title_id) for e in events] == [
        ("TITLE_CREATED", title["id"], title["id"]), ("ASSET_REGISTERED", asset["id"], title["id"]),
        ("REVIEW_ADDED", review["id"], title["id"])]
    assert reader.poll() == []  # nothing moved: no table is read again
    # a re-delivery is a new version of the asset: an event of its own
    [again] = lake.assets.register([asset_input(title["id"], external_id="delivery-1", uri=asset["uri"])])
    assert (again["id"], again["version"]) == (asset["id"], 2)
    assert [(e.kind, e.id) for e in reader.poll()] == [("ASSET_REGISTERED", asset["id"])]


def test_a_run_is_an_event_of_its_outputs_title(lake: Lake) -> None:
    lineage = open_lineage(lake, Settings())
    title = make_title(lake)
    [source] = make_assets(lake, title["id"])
    reader = EventReader(lake.connection)
    reader.poll()
    run = lineage.record_run({"job": {"namespace": "tests", "name": "proxy"}, "inputs": [source["id"]],
                              "outputs": [asset_input(title["id"], role="proxy")]}).run
    events = {e.kind: e for e in reader.poll()}
    assert events["RUN_RECORDED"].id == run.id and events["RUN_RECORDED"].title_id == title["id"]
    assert events["ASSET_REGISTERED"].id == run.outputs[0]


def test_each_subscriber_sees_what_its_view_may_and_its_filters_let_through(lake: Lake) -> None:
    series = make_title(lake, kind="SERIES")
    episode = make_title(lake, kind="EPISODE", parent_id=series["id"])
    vault = make_title(lake, restricted=True)
    reader = EventReader(lake.connection, start=series["created_at"])
    events = {e.id: e for e in reader.poll()}
    public = Subscriber(lake.with_access(Access(restricted=False)))
    granted = Subscriber(lake.with_access(Access(restricted=False, granted=frozenset([vault["id"]]))))
    by_series = Subscriber(lake, title_ids=[series["id"]])
    assert not public.wants(events[vault["id"]]) and public.wants(events[episode["id"]])
    assert granted.wants(events[vault["id"]])
    assert by_series.wants(events[episode["id"]]) and not by_series.wants(events[vault["id"]])
    assert not Subscriber(lake, kinds=["REVIEW_ADDED"]).wants(events[series["id"]])


def test_a_feed_delivers_from_the_moment_a_subscriber_joins(lake: Lake) -> None:
    feed = EventFeed(lake.connection, poll_seconds=0.05)

    async def first_event_after(before: str) -> str:
        make_title(lake, name=before)  # committed before the subscription: never delivered
        stream = feed.subscribe(lake, kinds=["TITLE_CREATED"])
        waiting = asyncio.ensure_future(stream.__anext__())
        while feed.subscribers == 0:
            await asyncio.sleep(0.01)
        title = await asyncio.to_thread(make_title, lake)
        event = await asyncio.wait_for(waiting, 30)
        await stream.aclose()
        assert event.id == title["id"], (event, title)
        return event.id

    asyncio.run(first_event_after("before the first"))
    # after everyone left, a new subscriber does not get what was committed meanwhile
    asyncio.run(first_event_after("while no one listened"))
    assert feed.subscribers == 0

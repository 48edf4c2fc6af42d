"""A server killed with SIGKILL during a burst of HTTP writes (real uvicorn, real lake): after a restart every
acknowledged write is there, and retrying the unanswered ones with their idempotency keys writes none twice."""
from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from typing import Any

import httpx

from graph_api.lake.connection import Connection
from tests.conftest import LiveServer

WRITERS = 4
CREATE = "mutation($name: String!, $key: String) { createTitle(input: {name: $name, kind: MOVIE}, " \
         "idempotencyKey: $key) { id name } }"


def _send(server: LiveServer, name: str) -> dict[str, Any] | None:
    """The answer, or None when the server died before answering."""
    try:
        response = httpx.post(server.url + "/graphql", json={"query": CREATE, "variables": {"name": name, "key": name}},
                              timeout=30)
    except httpx.HTTPError:
        return None
    body: dict[str, Any] = response.json()
    return body


def test_a_server_killed_mid_burst_keeps_every_acknowledged_write(tmp_path: Any) -> None:
    lake = str(tmp_path / "lake")
    server = LiveServer(lake)
    acknowledged: set[str] = set()
    unanswered: set[str] = set()
    stop = threading.Event()
    lock = threading.Lock()

    def writer(i: int) -> None:
        n = 0
        while not stop.is_set():
            name = f"w{i}-{n}"
            answer = _send(server, name)
            with lock:
                if answer is not None and answer.get("data"):
                    acknowledged.add(name)
                elif answer is None:
                    unanswered.add(name)
                    return  # the server is gone
            n += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acknowledged) >= 40

    restarted = LiveServer(lake)
    try:
        # the unanswered requests, retried with their keys: each runs, replays, or is refused as in doubt
        outcomes = {name: _send(restarted, name) for name in sorted(unanswered)}
        for answer in outcomes.values():
            assert answer is not None
            codes = [e["extensions"]["code"] for e in answer.get("errors") or []]
            assert answer.get("data") or codes in (["IDEMPOTENCY_KEY_IN_USE"], ["IDEMPOTENCY_KEY_IN_DOUBT"]), answer
        listed = httpx.post(restarted.url + "/graphql", json={"query": "{ titles(first: 1) { totalCount } }"},
                            timeout=30).json()
        total = listed["data"]["titles"]["totalCount"]
    finally:
        restarted.stop()
    names = Counter(r["name"] for r in Connection(lake, background_compaction=False).table("titles")
                    .search().select(["name"]).limit(None).to_list())
    assert not acknowledged - set(names), "acknowledged writes lost"
    assert [n for n, c in names.items() if c > 1] == [], "a write duplicated"
    assert total == sum(names.values())

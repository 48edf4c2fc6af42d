"""A writer killed with SIGKILL mid-batch leaves the lake readable: each batch is wholly there or
wholly absent, and every batch the lake acknowledged is there."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from graph_api.lake import Lake
from tests.concurrency.crash_writer import BATCH
from tests.conftest import make_title

ROOT = Path(__file__).resolve().parents[2]


def test_a_writer_killed_mid_batch_leaves_whole_batches(lake_dir: str) -> None:
    title = make_title(Lake(lake_dir))["id"]
    writer = subprocess.Popen([sys.executable, "-m", "tests.concurrency.crash_writer", lake_dir, title],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    acknowledged: list[int] = []
    deadline = time.monotonic() + 120
    while len(acknowledged) < 3 and time.monotonic() < deadline:
        line = writer.stdout.readline()
        if not line:
            break
        acknowledged.append(int(line.split()[1]))
    time.sleep(0.05)  # into the next batch's write
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    acknowledged += [int(line.split()[1]) for line in writer.stdout.read().splitlines() if line.startswith("ack")]
    assert len(acknowledged) >= 3, "the writer did not get going"

    lake = Lake(lake_dir)  # reopens after the crash: readable
    ids = lake.table("assets").search().where(f"title_id = '{title}'").select(["external_id"]) \
        .limit(None).to_arrow().column("external_id").to_pylist()
    per_batch: dict[int, int] = {}
    for external in ids:
        batch = int(external.split("-")[1][1:])
        per_batch[batch] = per_batch.get(batch, 0) + 1
    assert all(count == BATCH for count in per_batch.values()), {b: c for b, c in per_batch.items() if c != BATCH}
    assert set(acknowledged) <= set(per_batch), "an acknowledged batch is missing"
    assert len(ids) == len(set(ids))
    # the lake goes on working: a new write after the crash lands
    lake.assets.register([{"title_id": title, "external_id": "after-crash", "media_type": "VIDEO", "role": "source",
                           "uri": "s3://studio/after.mov", "checksum": "sha256:" + "0" * 64}])
    assert lake.assets.by_external_id(["after-crash"])

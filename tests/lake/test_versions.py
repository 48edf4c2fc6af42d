"""Which version of a table reads see: the latest (from the version hint and a probe of the manifests
after it, else LanceDB's listing), or the one a caller pinned; the same within a process and across
processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from graph_api.lake import Lake, snapshots, versions
from graph_api.lake.lineage import open_lineage
from graph_api.settings import Settings
from tests.conftest import asset_input, make_assets, make_title

SETTINGS = Settings.load(env={})

# Another process: reads asset ``argv[2]`` (when given), then registers one asset in title ``argv[3]``
# and prints {"saw": bool, "registered": id}. A fresh interpreter, like a uvicorn worker (never a fork).
OTHER_PROCESS = """
import json, sys
from graph_api.lake import Lake
from tests.conftest import asset_input
lake = Lake(sys.argv[1], background_compaction=False)
saw = lake.assets.get(sys.argv[2]) is not None if sys.argv[2] else None
row = lake.assets.register([asset_input(sys.argv[3])])[0]
print(json.dumps({"saw": saw, "registered": row["id"]}))
"""


def _other_process(lake_dir: str, title_id: str, read: str = "") -> dict[str, object]:
    """Run ``OTHER_PROCESS`` (with this process's import path)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", OTHER_PROCESS, lake_dir, read, title_id], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _assets_uri(lake: Lake) -> str:
    return str(snapshots.dataset_of(lake.connection, "assets").uri)


def _hint(uri: str) -> Path:
    return Path(uri) / versions.VERSIONS_DIR / versions.HINT_FILE


def _listed_latest(lake: Lake) -> int:
    """The latest version as a listing of every version (pylance's) finds it."""
    return int(lake.connection.table("assets").to_lance().latest_version)


@pytest.fixture
def local_lake(tmp_path: Path) -> Lake:
    return Lake(str(tmp_path / "lake"), background_compaction=False)


def test_the_probe_finds_versions_the_hint_does_not_name_yet(local_lake: Lake) -> None:
    title = make_title(local_lake)
    make_assets(local_lake, title["id"])
    uri = _assets_uri(local_lake)
    latest = _listed_latest(local_lake)
    assert versions.probe_latest(uri) == latest
    # versions written after the hint was (a hint write that lost a race, a writer that crashed before it)
    later = [make_assets(local_lake, title["id"])[0] for _ in range(3)]
    _hint(uri).write_text(json.dumps({"version": latest}))
    assert versions.probe_latest(uri) == _listed_latest(local_lake) > latest
    assert all(local_lake.assets.get(a["id"]) is not None for a in later)


# hints the probe cannot answer from: missing, unparsable, not a version, more steps behind than the
# probe walks, naming a version that is not there
BAD_HINTS = [None, "not json", '{"version": "7"}', '{"nothing": 1}', "behind", "ahead"]


def test_a_hint_that_cannot_answer_falls_back_to_lancedb_and_reads_stay_exact(local_lake: Lake) -> None:
    title = make_title(local_lake)
    first = make_assets(local_lake, title["id"])[0]
    assert local_lake.assets.get(first["id"]) is not None  # the dataset is open, at this version
    writer = Lake(local_lake.uri, background_compaction=False)
    uri = _assets_uri(writer)
    for hint in BAD_HINTS:
        later = make_assets(writer, title["id"])[0]  # its commit writes a good hint
        latest = _listed_latest(local_lake)
        assert latest > versions.MAX_PROBE_STEPS + 1
        if hint is None:
            _hint(uri).unlink()
        elif hint == "behind":
            _hint(uri).write_text(json.dumps({"version": latest - versions.MAX_PROBE_STEPS - 1}))
        elif hint == "ahead":
            _hint(uri).write_text(json.dumps({"version": latest + 3}))
        else:
            _hint(uri).write_text(hint)
        assert versions.probe_latest(uri) is None, hint
        assert versions.latest_version(uri, lambda: -1) == -1  # the caller's own check answers
        # the other connection's write, then a read here, is seen through LanceDB's check
        assert snapshots.dataset_of(local_lake.connection, "assets").version == latest, hint
        assert local_lake.assets.get(later["id"]) is not None, hint


def test_a_dataset_not_on_a_local_filesystem_is_not_probed() -> None:
    assert versions.local_root("s3://bucket/lake/assets.lance") is None
    assert versions.probe_latest("s3://bucket/lake/assets.lance") is None
    assert versions.local_root("file:///data/lake/assets.lance") == Path("/data/lake/assets.lance")


def test_a_pinned_table_reads_at_its_pin_until_unpinned(lake_dir: str) -> None:
    lake, writer = Lake(lake_dir, background_compaction=False), Lake(lake_dir, background_compaction=False)
    title = make_title(lake)
    kept = make_assets(lake, title["id"])[0]
    version = lake.table_version("assets")
    versions.pin(lake.connection, "assets", version)
    assert versions.pinned(lake.connection, "assets") == version
    later = make_assets(writer, title["id"])[0]
    assert lake.assets.get(later["id"]) is None and lake.assets.get(kept["id"]) is not None
    assert snapshots.dataset_of(lake.connection, "assets").version == version
    assert versions.pinned(writer.connection, "assets") is None  # a pin belongs to its connection
    versions.unpin(lake.connection, "assets")
    assert versions.pinned(lake.connection, "assets") is None
    assert lake.assets.get(later["id"]) is not None


def test_read_your_writes_within_a_process_and_across_processes(lake_dir: str) -> None:
    lake = Lake(lake_dir, background_compaction=False)
    lineage = open_lineage(lake, SETTINGS)
    title = make_title(lake)
    lineage.refresh()
    assert not lineage.moved()
    # a write through this process, then a read, sees it
    own = lake.assets.register([asset_input(title["id"])])[0]
    assert lake.assets.get(own["id"]) is not None
    assert lineage.moved()
    lineage.refresh()
    assert not lineage.moved()
    # the other process sees this one's write; this one then sees the other's
    other = _other_process(lake_dir, title["id"], read=own["id"])
    assert other["saw"] is True
    assert lineage.moved()
    assert lake.assets.get(str(other["registered"])) is not None
    assert {r["id"] for r in lake.assets.list(title_ids=[title["id"]]).to_pylist()} == {own["id"], other["registered"]}

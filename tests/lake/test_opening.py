"""Opening a lake: read-only work never creates one; work that writes creates it and says so."""
from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from graph_api.errors import LakeNotFound
from graph_api.lake import Lake
from graph_api.settings import Settings


def mediagraph(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graph_api.cli", *args], capture_output=True, text=True, timeout=300,
                          check=False)


def test_opening_a_missing_lake_for_reading_raises_not_found_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nolake"
    with pytest.raises(LakeNotFound) as err:
        Lake.from_settings(Settings.load(env={}, lake=str(missing)), create=False)
    assert err.value.code == "NOT_FOUND" and str(missing) in str(err.value)
    assert not missing.exists()


def test_an_empty_directory_is_not_a_lake(tmp_path: Path) -> None:
    with pytest.raises(LakeNotFound):
        Lake(str(tmp_path), create=False)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_lake_opens_read_only_and_says_it_was_not_created(tmp_path: Path) -> None:
    first = Lake(str(tmp_path / "lake"), background_compaction=False)
    assert first.created
    again = Lake(str(tmp_path / "lake"), create=False)
    assert not again.created and again.titles.list().num_rows == 0


def test_lake_stats_on_a_mistyped_path_exits_2_with_one_line_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nolake"
    result = mediagraph("lake", "stats", "--lake", str(missing))
    assert result.returncode == 4, result.stderr  # the lake cannot be opened (mediagraph --help)
    assert result.stderr.strip().splitlines() == [f"mediagraph lake stats: lake {missing} does not exist"]
    assert result.stdout == "" and not missing.exists()


def test_a_command_that_writes_creates_the_lake_and_says_so_once(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    first = mediagraph("lake", "optimize", "--lake", str(lake))
    assert first.returncode == 0, first.stderr
    assert first.stderr.count(f"created lake at {lake}") == 1
    again = mediagraph("lake", "optimize", "--lake", str(lake))
    assert again.returncode == 0 and "created lake" not in again.stderr
    assert mediagraph("lake", "stats", "--lake", str(lake)).returncode == 0



def _open_together(uri: str, barrier: Any) -> None:
    barrier.wait(120)  # every process has imported lancedb: now their first commits race
    Lake(uri, background_compaction=False)


def test_processes_opening_a_new_lake_together_all_succeed(tmp_path: Path) -> None:
    uri = str(tmp_path / "lake")
    context = multiprocessing.get_context("spawn")  # never fork a process that opened a lake
    barrier = context.Barrier(3)
    workers = [context.Process(target=_open_together, args=(uri, barrier)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(180)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert Lake(uri, create=False).titles.list().num_rows == 0

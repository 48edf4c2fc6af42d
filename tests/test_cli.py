"""The mediagraph command on a real lake."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def mediagraph(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graph_api.cli", *args], capture_output=True, text=True, timeout=300)


def test_demo_builds_once_then_reuses_the_lake(tmp_path: Path) -> None:
    lake = str(tmp_path / "demo")
    first = mediagraph("demo", "--lake", lake, "--no-serve")
    assert first.returncode == 0, first.stderr
    assert "demo lake ready" in first.stderr
    second = mediagraph("demo", "--lake", lake, "--no-serve")
    assert second.returncode == 0 and "reusing" in second.stderr
    stats = mediagraph("lake", "stats", "--lake", lake)
    assert stats.returncode == 0
    lines = {line.split()[0]: line.split() for line in stats.stdout.splitlines()[1:]}
    assert int(lines["titles"][1]) == 5 and int(lines["assets"][1]) > 20
    assert "id_idx(BTree)" in lines["assets"][-1] or "id_idx(BTree)," in stats.stdout


def test_lake_optimize_compacts(tmp_path: Path) -> None:
    lake = str(tmp_path / "demo")
    assert mediagraph("demo", "--lake", lake, "--no-serve").returncode == 0
    result = mediagraph("lake", "optimize", "--lake", lake)
    assert result.returncode == 0, result.stderr
    assert "assets" in result.stdout and "-> 1" in result.stdout


def test_bad_flags_exit_with_a_message_not_a_trace(tmp_path: Path) -> None:
    result = mediagraph("serve", "--lake", str(tmp_path / "x"), "--auth", "on")
    assert result.returncode == 2
    assert "auth" in result.stderr and "Traceback" not in result.stderr

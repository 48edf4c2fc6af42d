"""The mediagraph command on a real lake."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def mediagraph(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graph_api.cli", *args], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, subprocess.CompletedProcess]:
    """The real demo (corpus generated, ingested, derived), built once for this module."""
    lake = str(tmp_path_factory.mktemp("demo") / "lake")
    return lake, mediagraph("demo", "--lake", lake, "--no-serve")


def test_demo_builds_once_then_reuses_the_lake(demo: tuple[str, subprocess.CompletedProcess]) -> None:
    lake, first = demo
    assert first.returncode == 0, first.stderr
    assert "demo lake ready" in first.stderr and "24 step(s) run" in first.stderr
    media = Path(lake).parent / "demo-media"
    assert (media / "corpus" / "corpus.json").is_file() and any((media / "derived").rglob("proxy.mp4"))
    second = mediagraph("demo", "--lake", lake, "--no-serve")
    assert second.returncode == 0 and "reusing" in second.stderr, second.stderr
    assert "nothing to do" in second.stderr
    stats = mediagraph("lake", "stats", "--lake", lake)
    assert stats.returncode == 0
    lines = {line.split()[0]: line.split() for line in stats.stdout.splitlines()[1:]}
    # 2 films + a series + 2 episodes; 11 delivered files, 4 proxies, 25 frames
    assert int(lines["titles"][1]) == 5 and int(lines["assets"][1]) > 35
    assert int(lines["segments"][1]) > 4 * 4 + 4 * 6  # shots, dialogue lines and frames
    assert "id_idx(BTree)" in lines["assets"][-1] or "id_idx(BTree)," in stats.stdout


def test_lake_optimize_compacts(demo: tuple[str, subprocess.CompletedProcess]) -> None:
    lake, _ = demo
    result = mediagraph("lake", "optimize", "--lake", lake)
    assert result.returncode == 0, result.stderr
    assert "assets" in result.stdout and "-> 1" in result.stdout


def test_bad_flags_exit_with_a_message_not_a_trace(tmp_path: Path) -> None:
    result = mediagraph("serve", "--lake", str(tmp_path / "x"), "--auth", "on")
    assert result.returncode == 2
    assert "auth" in result.stderr and "Traceback" not in result.stderr

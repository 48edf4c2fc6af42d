"""batch embed --engine ray on a local 2-CPU cluster started once per session: the same vectors,
runs and idempotence as the local engine (the same code joins a real cluster given RAY_ADDRESS)."""
from __future__ import annotations

from typing import Any

import pytest

from tests.batch.checks import check_frames


def test_ray_engine_backfills_frames_once(small_lake: dict[str, Any], ray_cluster: Any,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    check_frames(small_lake, "ray", capsys)

"""Two ``mediagraph serve`` replicas (auth on) on one S3 lake, started once for the folder's tests."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.replicas.writers import create_token, start_replicas
from tests.s3 import SeaweedS3

INTERVAL = 1.0  # the replicas' read-consistency interval, seconds


@pytest.fixture(scope="session")
def replicas(s3_server: SeaweedS3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``lake`` (its uri), ``token`` (read, write, admin; every title) and the two ``servers``."""
    lake = s3_server.new_uri("replicas")
    _, token = create_token(s3_server, lake)
    servers = start_replicas(s3_server, lake, 2, tmp_path_factory.mktemp("replicas"),
                             read_consistency_seconds=INTERVAL)
    yield {"lake": lake, "token": token, "servers": servers}
    for server in servers:
        server.stop()

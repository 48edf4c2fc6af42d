"""Every command on an ``s3://`` lake, as a deployment runs them: real processes, the storage options in
``MEDIAGRAPH_STORAGE_*`` variables, a real S3 server (SeaweedFS)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph_api.lake import Lake
from graph_api.media.store import open_media
from graph_api.media.synth import ClipSpec, Shot, write_clip
from graph_api.pipeline.context import Context, Options
from graph_api.pipeline.derive import derive
from graph_api.pipeline.ingest import NewTitle, ingest
from graph_api.pipeline.progress import Silent
from graph_api.settings import Settings
from tests.e2e.live import gql
from tests.replicas.writers import mediagraph
from tests.s3 import SeaweedS3

pytestmark = pytest.mark.s3


def tiny_clip(path: Path) -> Path:
    write_clip(path, ClipSpec(width=64, height=36, duration=1.0, shots=[Shot("stripes")], tone=None,
                              video_options={"preset": "ultrafast", "crf": "30"}))
    return path


def test_ingest_token_serve_stats_and_optimize_on_an_s3_lake(s3_server: SeaweedS3, replicas: dict[str, Any],
                                                             tmp_path: Path) -> None:
    # the replicas are `mediagraph serve --lake s3://... --auth on` with MEDIAGRAPH_STORAGE_* (conftest.py);
    # their lake was created by `mediagraph token create`
    lake = replicas["lake"]
    ingested = mediagraph(s3_server, "ingest", str(tiny_clip(tmp_path / "clip.mp4")), "--new-title",
                          "Harbour Lights", "--lake", lake)
    assert ingested.returncode == 0, ingested.stderr
    assert "created lake" not in ingested.stderr
    title_id = ingested.stdout.strip().splitlines()[-1]

    created = mediagraph(s3_server, "token", "create", "--scopes", "read,write", "--all-titles", "--lake", lake)
    assert created.returncode == 0, created.stderr
    bearer = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    url = replicas["servers"][0].url + "/graphql"
    query = "query($id: ID!) { title(id: $id) { name assets { totalCount } } }"
    deadline = time.time() + 15  # the replica notices the new token and the ingest within its intervals
    while httpx.post(url, json={"query": "{ jobs { name } }"}, headers=bearer, timeout=30).status_code != 200:
        assert time.time() < deadline, "the new token was not accepted"
        time.sleep(0.2)
    assert gql(url, query, {"id": title_id}, **bearer)["title"] == {"name": "Harbour Lights",
                                                                    "assets": {"totalCount": 1}}

    stats = mediagraph(s3_server, "lake", "stats", "--json", "--lake", lake)
    assert stats.returncode == 0, stats.stderr
    assert '"titles"' in stats.stdout and '"assets"' in stats.stdout
    optimized = mediagraph(s3_server, "lake", "optimize", "--lake", lake)
    assert optimized.returncode == 0, optimized.stderr
    listed = mediagraph(s3_server, "token", "list", "--json", "--lake", lake)
    assert listed.returncode == 0 and '"read"' in listed.stdout, listed.stderr
    # the replicas keep serving the optimized lake
    assert gql(url, query, {"id": title_id}, **bearer)["title"]["assets"]["totalCount"] == 1


def test_the_first_command_on_a_new_s3_lake_creates_it_and_says_so(s3_server: SeaweedS3, tmp_path: Path) -> None:
    lake = s3_server.new_uri("commands")
    done = mediagraph(s3_server, "lake", "optimize", "--lake", lake)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(f"created lake at {lake}") == 1
    assert any(key.endswith(".lance") for key in s3_server.keys(lake))


def test_commands_on_a_missing_s3_lake_create_nothing(s3_server: SeaweedS3) -> None:
    lake = s3_server.new_uri("missing")
    stats = mediagraph(s3_server, "lake", "stats", "--lake", lake)
    assert stats.returncode == 4, stats.stderr
    assert stats.stderr.strip().splitlines() == [f"mediagraph lake stats: lake {lake} does not exist"]
    assert s3_server.keys(lake) == []


def test_derive_writes_a_proxy_to_an_s3_media_dir_and_reads_it_back(
        s3_server: SeaweedS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    media_uri = s3_server.new_uri("media")
    lake = Lake(str(tmp_path / "lake"), background_compaction=False)
    ctx = Context.open(lake, Settings.load(lake=str(tmp_path / "lake")), media_uri,
                       options=Options(proxy_height=36), reporter=Silent())
    report = ingest(ctx, [tiny_clip(tmp_path / "clip.mp4")], NewTitle("Harbour Lights"))
    assert report.ok and report.title_id

    # frame embeddings read the frames back from S3
    derived = derive(ctx, report.title_id, ["proxy", "frames", "embeddings"])
    assert derived.ok, derived.summary()
    [proxy] = [a for a in lake.assets.list(title_ids=[report.title_id]).to_pylist() if a["role"] == "proxy"]
    assert proxy["uri"].startswith(media_uri + "/")
    with open_media(proxy["uri"], ctx.storage_options) as f:
        head = f.read(12)
        assert head[4:8] == b"ftyp"  # an MP4
        assert f.size() == proxy["size_bytes"]
    frames = [a for a in lake.assets.list(title_ids=[report.title_id]).to_pylist() if a["role"] == "frame"]
    assert frames and all(f["uri"].startswith(media_uri + "/") for f in frames)
    assert {d.step: d.outputs > 0 for d in derived.done}["frame-embeddings"]
    assert not any(p.is_file() for p in ctx.media_dir.rglob("*"))  # nothing left in the local scratch dir

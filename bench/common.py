"""Helpers the bench scripts share: percentiles, timing, a real uvicorn subprocess, a figures table.

Benchmarks talk to the service the way clients do: over real HTTP, to a server started as a
separate process with the ``mediagraph serve`` command.
"""
from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {"n": len(ms), "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95),
            "p99_ms": percentile(ms, 99), "max_ms": max(ms) if ms else math.nan}


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def disk_bytes(path: str | os.PathLike[str]) -> int:
    """Bytes of every file under ``path`` (what the lake holds on disk, old versions included)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(FileNotFoundError):  # a cleanup may remove it meanwhile
                total += os.stat(os.path.join(root, name)).st_size
    return total


def vs_floor(measured: float, floor: float, target: float | None = None) -> str:
    """``measured`` next to its floor: the ratio, and whether it is within ``target`` times the floor."""
    ratio = measured / floor if floor else math.nan
    text = f"{ratio:.2f}x the floor"
    if target is not None:
        text += f" ({'within' if ratio <= target else 'MISSED'} {target:g}x)"
    return text


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} on {os.cpu_count()} cpus"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A ``mediagraph serve`` subprocess on a free port; stdout/stderr go to ``log_path``."""

    def __init__(self, lake: str, *, port: int | None = None, log_path: str | os.PathLike[str] | None = None,
                 extra_args: Sequence[str] = (), env: dict[str, str] | None = None) -> None:
        self.lake = lake
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_path) if log_path else Path(lake).with_suffix(".server.log")
        self.extra_args = list(extra_args)
        # uvicorn's access log is INFO: keep it out of the measurements
        self.env = {**os.environ, "MEDIAGRAPH_LOG_LEVEL": "warning", **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0, launcher: Sequence[str] | None = None) -> Server:
        """Start ``mediagraph serve`` (through ``launcher``, a command that takes serve's arguments, when
        given: a sampling wrapper, say) and wait until /healthz answers."""
        head = list(launcher) if launcher is not None else [sys.executable, "-m", "graph_api.cli"]
        command = [*head, "serve", "--lake", self.lake, "--port", str(self.port), *self.extra_args]
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env,
                                        stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log_path}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not become healthy in {timeout}s; see {self.log_path}")

    def cpu_seconds(self) -> float:
        """CPU time the server process (all its threads) has used: a figure other load cannot inflate
        as much as wall-clock latency."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def graphql_client(server: Server, timeout: float = 120.0) -> Iterator[Callable[..., dict[str, Any]]]:
    """A function that POSTs one GraphQL operation and returns ``data``; errors raise."""
    with httpx.Client(base_url=server.url, timeout=timeout) as client:

        def post(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
            response = client.post("/graphql", json={"query": query, "variables": variables or {}})
            body = response.json()
            if response.status_code != 200 or body.get("errors"):
                raise RuntimeError(f"GraphQL error ({response.status_code}): {body.get('errors')}")
            return body["data"]

        yield post


def print_table(title: str, rows: Sequence[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    rule = "-" * (width + 2 + max(len(v) for _, v in rows))
    print(f"\n{title}\n{rule}")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(rule, flush=True)

"""Concurrent writers through replicas on one S3 lake: N ``mediagraph serve`` processes on a SeaweedFS
bucket (started here, on loopback), T client threads per replica, M idempotent mutations per thread
(titles, assets, runs), then the lake is read directly to count what was lost or duplicated.

    python bench/replicas_bench.py [--replicas 2] [--threads 4] [--mutations 500] [--interval 1.0]

Prints throughput, the client's retries (an answer that did not come, or a retryable error code), the
servers' commit-conflict metrics (whatever /metrics names "conflict") and the verdict.
tests/replicas/test_replicas.py runs the same writers at CI size.
"""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.replicas.writers import Report, concurrent_writes, create_token, lost_and_duplicated, start_replicas  # noqa: E402
from tests.s3 import SeaweedS3  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="client threads per replica")
    parser.add_argument("--mutations", type=int, default=500, help="per thread")
    parser.add_argument("--interval", type=float, default=1.0, help="read-consistency interval, seconds")
    parser.add_argument("--progress-every", type=float, default=30.0, help="seconds between progress lines")
    args = parser.parse_args()
    # a kill (SIGTERM) stops the servers and the S3 server too, not only this process
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = Path(tempfile.mkdtemp(prefix="mg-replicas-"))
    s3 = SeaweedS3(root / "s3")
    servers = []
    passed = False
    try:
        lake = s3.new_uri("bench")
        _, token = create_token(s3, lake)
        servers = start_replicas(s3, lake, args.replicas, root, read_consistency_seconds=args.interval)
        print(f"{args.replicas} replicas x {args.threads} threads x {args.mutations} mutations on {lake}", flush=True)
        total = args.replicas * args.threads * args.mutations

        def progress(report: Report, elapsed: float) -> None:
            print(f"  {elapsed:6.0f} s: {report.mutations}/{total} mutations ({report.mutations / elapsed:.1f}/s), "
                  f"failures {len(report.failures)}", flush=True)

        report = concurrent_writes([s.url for s in servers], token, args.threads, args.mutations,
                                   progress=progress, every=args.progress_every)
        print(f"{report.mutations} mutations in {report.seconds:.1f} s ({report.mutations / report.seconds:.1f}/s), "
              f"client retries {report.retried}, failures {len(report.failures)}")
        for failure in report.failures[:5]:
            print("  " + failure[:300])
        for server in servers:
            # /metrics needs the read scope when auth is on
            metrics = httpx.get(server.url + "/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30).text
            conflicts = [line for line in metrics.splitlines() if "conflict" in line and not line.startswith("#")]
            print(f"{server.url} conflict metrics: {'; '.join(conflicts) or 'none exported'}")
        result = lost_and_duplicated(s3, lake, report)
        bad = {t: r for t, r in result.items() if r != ([], [])}
        for table, (lost, duplicated) in result.items():
            print(f"{table}: {len(report.expected[table])} written, {len(lost)} lost, {len(duplicated)} duplicated")
        passed = not bad and not report.failures
        print("OK: nothing lost or duplicated" if passed else f"FAILED: {bad}")
        return 0 if passed else 1
    finally:
        for server in servers:
            server.stop()
        s3.stop()
        if passed:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"servers' logs and the S3 data kept in {root}")


if __name__ == "__main__":
    sys.exit(main())

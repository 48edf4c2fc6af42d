"""GraphQL over HTTP: graphql-http's auditServer passes with no errors and no warnings."""
from __future__ import annotations

import json

from tests.e2e.live import run_node, shared_server


def test_graphql_http_audit_passes_without_errors_or_warnings() -> None:
    server, _ = shared_server()
    done = run_node(["audit.mjs", server.url + "/graphql"])
    assert done.stdout, done.stderr
    report = json.loads(done.stdout)
    failed = [r for r in report if r["status"] in ("error", "warn")]
    assert not failed, json.dumps(failed, indent=1)
    assert len(report) > 50 and done.returncode == 0

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import attr
import pytest
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import JobFacet, RunFacet, source_code_location_job
from openlineage.client.serde import Serde

from lineage import InvalidEventError
from lineage import Job as LJob
from lineage.openlineage import (
    dataset_uri,
    external_run_id,
    parse_run_event,
    run_to_event,
    uri_dataset,
    validate_run_event,
)


@attr.define
class MediagraphParametersRunFacet(RunFacet):
    parameters: dict[str, Any] = attr.field(factory=dict)


@attr.define
class MediagraphJobFacet(JobFacet):
    version: str | None = None


RUN_ID = str(uuid.uuid4())


def _event(state: RunState = RunState.COMPLETE, **kw: Any) -> dict[str, Any]:
    event = RunEvent(
        eventType=state,
        eventTime=datetime(2025, 3, 1, 12, 0, tzinfo=UTC).isoformat(),
        run=Run(runId=RUN_ID, facets={"mediagraph_parameters": MediagraphParametersRunFacet({"crf": 18, "scale": [1280, 720]})}),
        job=Job(namespace="ingest", name="proxy", facets={"mediagraph_job": MediagraphJobFacet(version="abc123")}),
        producer="https://example.com/pipeline",
        inputs=[InputDataset(namespace="s3://studio", name="titles/t1/source.mov")],
        outputs=[OutputDataset(namespace="file", name="/lake/proxies/t1.mp4")],
        **kw,
    )
    return Serde.to_dict(event)


def test_client_event_validates_and_parses() -> None:
    payload = _event()
    validate_run_event(payload)
    ev = parse_run_event(payload)
    assert (ev.event_type, ev.status, ev.run_id) == ("COMPLETE", "COMPLETED", RUN_ID)
    assert (ev.job_namespace, ev.job_name, ev.job_version) == ("ingest", "proxy", "abc123")
    assert ev.parameters == {"crf": 18, "scale": [1280, 720]}
    assert ev.event_time == datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert [d.uri for d in ev.inputs] == ["s3://studio/titles/t1/source.mov"]
    assert [d.uri for d in ev.outputs] == ["/lake/proxies/t1.mp4"]


@pytest.mark.parametrize(
    ("state", "status"),
    [(RunState.START, "RUNNING"), (RunState.RUNNING, "RUNNING"), (RunState.FAIL, "FAILED"),
     (RunState.ABORT, "ABORTED"), (RunState.OTHER, None)],
)
def test_event_types_map_to_statuses(state: RunState, status: str | None) -> None:
    assert parse_run_event(_event(state)).status == status


def test_standard_facets_are_read_when_custom_ones_are_absent() -> None:
    payload = _event()
    payload["job"]["facets"] = {
        "sourceCodeLocation": Serde.to_dict(source_code_location_job.SourceCodeLocationJobFacet(
            type="git", url="https://example.com/repo", version="deadbeef"))
    }
    payload["run"]["facets"] = {
        "executionParameters": {
            "_producer": "https://example.com", "_schemaURL":
            "https://openlineage.io/spec/facets/1-0-0/ExecutionParametersRunFacet.json#/$defs/ExecutionParametersRunFacet",
            "parameters": [{"key": "preset", "value": "fast"}],
        }
    }
    ev = parse_run_event(payload)
    assert ev.job_version == "deadbeef" and ev.parameters == {"preset": "fast"}


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda p: p.pop("eventTime"), "$"),
        (lambda p: p["run"].update(runId="not-a-uuid"), "$.run.runId"),
        (lambda p: p.update(eventType="DONE"), "$.eventType"),
        (lambda p: p["job"].pop("name"), "$.job"),
        (lambda p: p["inputs"][0].pop("namespace"), "$.inputs[0]"),
        (lambda p: p["run"]["facets"]["mediagraph_parameters"].pop("_producer"), "$.run.facets.mediagraph_parameters"),
        (lambda p: p.update(eventTime="yesterday"), "$.eventTime"),
    ],
)
def test_invalid_events_name_the_json_path(mutate: Any, path: str) -> None:
    payload = _event()
    mutate(payload)
    with pytest.raises(InvalidEventError) as err:
        parse_run_event(payload)
    assert err.value.code == "INVALID_EVENT"
    assert err.value.path == path


def test_non_object_is_invalid() -> None:
    with pytest.raises(InvalidEventError):
        validate_run_event([1, 2])


def test_dataset_uri_mapping() -> None:
    assert dataset_uri("s3://bucket", "path/file.mov") == "s3://bucket/path/file.mov"
    assert dataset_uri("file", "/abs/path/a.wav") == "/abs/path/a.wav"
    assert dataset_uri("file://render-01", "/abs/path/a.wav") == "/abs/path/a.wav"
    assert dataset_uri("postgres://db:5432", "media.assets") == "postgres://db:5432/media.assets"
    assert dataset_uri("warehouse", "titles") == "warehouse/titles"
    for uri in ["s3://bucket/path/file.mov", "/abs/path/a.wav", "warehouse/titles"]:
        assert dataset_uri(*uri_dataset(uri)) == uri


def test_export_validates_and_round_trips(make) -> None:
    run = make.run("run_" + uuid.uuid4().hex, [("asset_src", 1)], ["asset_p"], job="proxy",
                   job_version="v7", parameters={"crf": 18}, status="FAILED")
    event = run_to_event(run, LJob("media", "proxy", "v8"), ["s3://studio/src.mov"], ["/lake/p.mp4"])
    validate_run_event(event)
    back = parse_run_event(event)
    assert back.run_id == external_run_id(run) == str(uuid.UUID(run.id[4:]))
    assert (back.status, back.job_name, back.job_version, back.parameters) == ("FAILED", "proxy", "v7", {"crf": 18})
    assert back.event_time == run.ended_at
    assert [d.uri for d in back.inputs] == ["s3://studio/src.mov"]
    assert [d.uri for d in back.outputs] == ["/lake/p.mp4"]

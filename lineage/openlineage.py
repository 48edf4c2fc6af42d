"""OpenLineage RunEvents in and out: validation, parsing, dataset uris, export.

The bundled ``schemas/OpenLineage.json`` is spec 2-0-2, the version the
openlineage-python client stamps on its events.

Facets we read (all optional):
- job version: job facet ``mediagraph_job.version``, else the standard
  ``sourceCodeLocation.version`` ("the current version deployed").
- parameters: run facet ``mediagraph_parameters.parameters`` (any JSON object),
  else the standard ExecutionParametersRunFacet (found by its ``_schemaURL``,
  whatever its key) as ``{key: value}``. The custom facet wins because media
  parameters (presets, model settings) are nested JSON, not string pairs.
Export writes the custom facets, so an exported event parses back to the same run.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from lineage.errors import InvalidEventError
from lineage.model import RUN_STATUSES, Job, Run

SPEC_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
RUN_EVENT_SCHEMA_URL = SPEC_URL + "#/$defs/RunEvent"
PRODUCER = "urn:mediagraph:lineage"
FACET_SCHEMA = "urn:mediagraph:lineage:facets"

# The OpenLineage eventType of each run status (lineage.model.RUN_STATUSES, in its order), and back.
STATUS_EVENT: dict[str, str] = dict(zip(RUN_STATUSES, ("RUNNING", "COMPLETE", "FAIL", "ABORT"), strict=True))
EVENT_STATUS: dict[str, str] = {"START": RUN_STATUSES[0], **{e: s for s, e in STATUS_EVENT.items()}}


@dataclass(frozen=True, slots=True)
class OLDataset:
    namespace: str
    name: str
    uri: str
    facets: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OLRunEvent:
    event_type: str  # START | RUNNING | COMPLETE | FAIL | ABORT | OTHER
    run_id: str  # the OpenLineage runId (a UUID)
    job_namespace: str
    job_name: str
    job_version: str | None
    parameters: dict[str, Any] | None
    event_time: datetime
    inputs: tuple[OLDataset, ...]
    outputs: tuple[OLDataset, ...]
    run_facets: dict[str, Any]
    job_facets: dict[str, Any]
    producer: str

    @property
    def status(self) -> str | None:
        """Our RunStatus for this event; None for OTHER (metadata only)."""
        return EVENT_STATUS.get(self.event_type)


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    text = resources.files("lineage").joinpath("schemas/OpenLineage.json").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    registry: Registry = Registry().with_resource(SPEC_URL, Resource.from_contents(spec(), DRAFT202012))
    return jsonschema.Draft202012Validator(
        {"$ref": RUN_EVENT_SCHEMA_URL},
        registry=registry,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def _path(parts: Any) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def validate_run_event(payload: Any) -> None:
    """Raise InvalidEventError, with the JSON path, unless ``payload`` is a valid RunEvent."""
    if not isinstance(payload, dict):
        raise InvalidEventError("a RunEvent must be a JSON object")
    error = jsonschema.exceptions.best_match(_validator().iter_errors(payload))
    if error is not None:
        raise InvalidEventError(error.message, _path(error.absolute_path))
    # jsonschema checks "date-time" only with an optional extra installed: check it here.
    _parse_time(payload["eventTime"], "$.eventTime")


def _parse_time(value: str, path: str) -> datetime:
    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEventError(f"{value!r} is not an ISO-8601 date-time", path) from None
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def dataset_uri(namespace: str, name: str) -> str:
    """Where an OpenLineage dataset lives, as an asset uri.

    ``s3://bucket`` + ``path/file.mov`` -> ``s3://bucket/path/file.mov``;
    ``file`` or ``file://host`` + a path -> the local absolute path;
    anything else -> namespace + "/" + name.
    """
    if namespace == "file" or namespace.startswith("file://"):
        return name if name.startswith("/") else "/" + name
    if "://" in namespace:
        return namespace.rstrip("/") + "/" + name.lstrip("/")
    return namespace + "/" + name


def uri_dataset(uri: str) -> tuple[str, str]:
    """The inverse of ``dataset_uri``: (namespace, name) for an asset uri."""
    if uri.startswith("/"):
        return ("file", uri)
    if uri.startswith("file://"):
        return ("file", "/" + uri[len("file://") :].split("/", 1)[-1])
    if "://" in uri:
        scheme, rest = uri.split("://", 1)
        authority, _, path = rest.partition("/")
        return (f"{scheme}://{authority}", path)
    namespace, _, name = uri.rpartition("/")
    return (namespace, name)


def _datasets(items: list[dict[str, Any]], extra: str) -> tuple[OLDataset, ...]:
    out = []
    for d in items:
        facets = dict(d.get("facets") or {})
        facets.update(d.get(extra) or {})
        out.append(OLDataset(d["namespace"], d["name"], dataset_uri(d["namespace"], d["name"]), facets))
    return tuple(out)


def _job_version(facets: dict[str, Any]) -> str | None:
    for key, field in (("mediagraph_job", "version"), ("sourceCodeLocation", "version")):
        value = (facets.get(key) or {}).get(field)
        if value is not None:
            return str(value)
    return None


def _parameters(facets: dict[str, Any]) -> dict[str, Any] | None:
    custom = facets.get("mediagraph_parameters")
    if custom is not None and isinstance(custom.get("parameters"), dict):
        return dict(custom["parameters"])
    for facet in facets.values():
        if isinstance(facet, dict) and "ExecutionParametersRunFacet" in str(facet.get("_schemaURL", "")):
            return {p["key"]: p.get("value") for p in facet.get("parameters") or []}
    return None


def parse_run_event(payload: Any) -> OLRunEvent:
    """Validate and read a RunEvent."""
    validate_run_event(payload)
    run = payload["run"]
    job = payload["job"]
    run_facets = dict(run.get("facets") or {})
    job_facets = dict(job.get("facets") or {})
    try:
        run_id = str(uuid.UUID(run["runId"]))
    except ValueError:
        raise InvalidEventError(f"{run['runId']!r} is not a UUID", "$.run.runId") from None
    return OLRunEvent(
        event_type=payload.get("eventType") or "OTHER",
        run_id=run_id,
        job_namespace=job["namespace"],
        job_name=job["name"],
        job_version=_job_version(job_facets),
        parameters=_parameters(run_facets),
        event_time=_parse_time(payload["eventTime"], "$.eventTime"),
        inputs=_datasets(payload.get("inputs") or [], "inputFacets"),
        outputs=_datasets(payload.get("outputs") or [], "outputFacets"),
        run_facets=run_facets,
        job_facets=job_facets,
        producer=payload["producer"],
    )


def external_run_id(run: Run) -> str:
    """The OpenLineage runId for a run: the one it came with, else its own uuid."""
    if run.external_run_id is not None:
        return run.external_run_id
    try:
        return str(uuid.UUID(run.id.removeprefix("run_")))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "mediagraph:" + run.id))


def _facet(name: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{FACET_SCHEMA}:{name}", **fields}


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def run_to_event(run: Run, job: Job | None, input_uris: list[str], output_uris: list[str]) -> dict[str, Any]:
    """A RunEvent describing ``run`` as it stands now, for export."""
    run_facets: dict[str, Any] = {"mediagraph_run": _facet("MediagraphRunFacet", id=run.id)}
    if run.parameters is not None:
        run_facets["mediagraph_parameters"] = _facet(
            "MediagraphParametersRunFacet", parameters=run.parameters
        )
    job_facets: dict[str, Any] = {}
    if run.job_version is not None:
        job_facets["mediagraph_job"] = _facet(
            "MediagraphJobFacet",
            version=run.job_version,
            currentVersion=None if job is None else job.version,
        )

    def datasets(uris: list[str]) -> list[dict[str, Any]]:
        out = []
        for uri in uris:
            namespace, name = uri_dataset(uri)
            out.append({"namespace": namespace, "name": name, "facets": {}})
        return out

    when = run.ended_at or run.started_at or run.recorded_at
    return {
        "eventType": STATUS_EVENT[run.status],
        "eventTime": _iso(when),
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA_URL,
        "run": {"runId": external_run_id(run), "facets": run_facets},
        "job": {"namespace": run.namespace, "name": run.job_name, "facets": job_facets},
        "inputs": datasets(input_uris),
        "outputs": datasets(output_uris),
    }

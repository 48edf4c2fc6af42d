"""Optional OpenTelemetry tracing, off by default (``MEDIAGRAPH_TRACING=on``).

When on, each GraphQL request is a span (``graphql.operation.name``/``type``, the request id,
the lake reads), child of the caller's ``traceparent`` when one is sent. Spans go to the
global tracer provider: one set up by ``opentelemetry-instrument`` or the host application is
used as it is; otherwise one is made here with the exporter ``OTEL_TRACES_EXPORTER`` names
(``otlp``, which needs opentelemetry-exporter-otlp-proto-http, or ``console``). Needs
``opentelemetry-api`` and ``opentelemetry-sdk``; nothing is imported while tracing is off.
"""
from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

from graph_api.errors import InvalidArgument

log = logging.getLogger(__name__)


class Tracing:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._tracer: Any = None
        if enabled:
            self._tracer = _tracer()

    @contextlib.contextmanager
    def span(self, name: str, headers: Mapping[str, str], **attributes: Any) -> Iterator[Any]:
        if self._tracer is None:
            yield None
            return
        from opentelemetry import propagate

        parent = propagate.extract(dict(headers))
        with self._tracer.start_as_current_span(name, context=parent, kind=_server_kind()) as span:
            for key, value in attributes.items():
                if value is not None:
                    span.set_attribute(key, value)
            yield span


def _server_kind() -> Any:
    from opentelemetry.trace import SpanKind

    return SpanKind.SERVER


def _tracer() -> Any:
    # the one guarded import: OpenTelemetry is the optional ``tracing`` extra, so its absence is a
    # setup choice reported as such, not a bug (required packages are imported plainly)
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError:
        raise InvalidArgument("tracing is on but OpenTelemetry is not installed: "
                              "pip install opentelemetry-api opentelemetry-sdk") from None
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")[0].strip()
        if exporter_name == "console":
            exporter: Any = ConsoleSpanExporter()
        else:
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            except ImportError:
                raise InvalidArgument("OTEL_TRACES_EXPORTER=otlp needs opentelemetry-exporter-otlp-proto-http; "
                                      "or set OTEL_TRACES_EXPORTER=console") from None
            exporter = OTLPSpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        log.info("tracing on, exporting spans with %s", type(exporter).__name__)
    return trace.get_tracer("graph_api")

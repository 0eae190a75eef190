"""Tracing for every service: one trace per referral across every hop.

FastStream's Kafka telemetry middleware carries W3C trace context in Kafka headers; the outbox keeps the
context a message was queued under, so a relayed message stays in its referral's trace. Spans go to one
JSON-lines file per service in MASH_TRACES_DIR, which `mash trace <referral-id>` reads; as well to a Zipkin server
when MASH_ZIPKIN_ENDPOINT is set (its /api/v2/spans: `mash up --observe`), and to any OTLP collector when
OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set. Every exporter runs in the background: no handler waits.
Span attributes are ids, topics, partitions and outcomes: never message bodies.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


class JsonLinesExporter(SpanExporter):
    """One line per finished span, appended to <dir>/<service>.jsonl."""

    def __init__(self, directory: Path, service: str):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{service}.jsonl"
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [json.dumps(span_record(s)) for s in spans]
        with self._lock, open(self.path, "a") as f:
            f.write("\n".join(lines) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def span_record(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.get_span_context()
    return {
        # The SDK gives every span it ends a context; a ReadableSpan made without one has no ids to give.
        "trace_id": f"{ctx.trace_id:032x}" if ctx else None,
        "span_id": f"{ctx.span_id:016x}" if ctx else None,
        "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
        "links": [f"{link.context.span_id:016x}" for link in span.links],
        "name": span.name,
        "kind": span.kind.name,
        "service": span.resource.attributes.get("service.name"),
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "status": span.status.status_code.name,
        "error": span.status.description,
        "attributes": {
            k: (v.decode(errors="replace") if isinstance(v, bytes) else v) for k, v in (span.attributes or {}).items()
        },
    }


class TextualAttributes(SpanExporter):
    """Hands another exporter its spans with bytes attributes as text. The Kafka message key (the referral id) is
    bytes, and Zipkin's encoder would write it as a list of numbers nobody could search for."""

    def __init__(self, inner: SpanExporter):
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([textual(s) for s in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def textual(span: ReadableSpan) -> ReadableSpan:
    attributes = span.attributes or {}
    if not any(isinstance(v, bytes) for v in attributes.values()):
        return span
    return ReadableSpan(
        name=span.name,
        context=span.get_span_context(),
        parent=span.parent,
        resource=span.resource,
        attributes={k: (v.decode(errors="replace") if isinstance(v, bytes) else v) for k, v in attributes.items()},
        events=span.events,
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


# The provider each service's broker was built with, and the traces directory it writes to.
_PROVIDERS: dict[str, tuple[Path | None, TracerProvider]] = {}


def tracer(service: str) -> trace.Tracer:
    """The service's tracer, as its broker was built with; without one (a handler test), OpenTelemetry's global."""
    made = _PROVIDERS.get(service)
    return made[1].get_tracer("mash") if made is not None else trace.get_tracer("mash")


def tracer_provider(service: str, traces_dir: Path | None) -> TracerProvider:
    """One per service and traces directory in a process: a service that rebuilds its app to retry its start keeps
    the provider (and its exporting threads) it made the first time."""
    made = _PROVIDERS.get(service)
    if made is not None and made[0] == traces_dir:
        return made[1]
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    _PROVIDERS[service] = (traces_dir, provider)
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if zipkin := os.environ.get("MASH_ZIPKIN_ENDPOINT"):
        from opentelemetry.exporter.zipkin.json import ZipkinExporter

        # Batched on the processor's own thread, as the files are: a slow or absent Zipkin costs a handler nothing,
        # and spans it could not take are logged and dropped (the files still hold them).
        exporter = TextualAttributes(ZipkinExporter(endpoint=zipkin, timeout=5))
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1000))
    if traces_dir is not None:
        # In the background, written at most a fifth of a second after a span ends (and at exit): writing each span
        # as it ended cost the decision service 7% of its CPU under load. A SIGKILL loses at most that fifth.
        provider.add_span_processor(BatchSpanProcessor(JsonLinesExporter(traces_dir, service), schedule_delay_millis=200))
    return provider

"""Spans go to a Zipkin server when MASH_ZIPKIN_ENDPOINT names one, in the background, with the referral id as text."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mash_runtime import telemetry

pytestmark = pytest.mark.process

KEY = "messaging.kafka.message.key"


@pytest.fixture
def collector() -> Iterator[tuple[str, list]]:
    """A stand-in for Zipkin's POST /api/v2/spans on loopback: the JSON bodies it was sent."""
    received: list = []

    class Spans(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Spans)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/v2/spans", received
    finally:
        server.shutdown()
        server.server_close()


def test_spans_reach_zipkin_with_the_message_key_as_text(collector, monkeypatch, tmp_path):
    endpoint, received = collector
    monkeypatch.setenv("MASH_ZIPKIN_ENDPOINT", endpoint)
    service = f"unit-zipkin-{uuid.uuid4().hex[:8]}"
    provider = telemetry.tracer_provider(service, tmp_path / "traces")
    try:
        with provider.get_tracer("mash").start_as_current_span("mash.notifications process", attributes={KEY: b"REF-42"}):
            pass
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()
        telemetry._PROVIDERS.pop(service, None)

    spans = [span for path, body in received if path == "/api/v2/spans" for span in body]
    [span] = [s for s in spans if s["localEndpoint"]["serviceName"] == service]
    assert span["name"] == "mash.notifications process"
    assert span["tags"][KEY] == "REF-42", "the key is searchable text, not a list of byte values"
    # The files are still written: `mash trace` keeps working with Zipkin on.
    assert "REF-42" in (tmp_path / "traces" / f"{service}.jsonl").read_text()


def test_without_the_setting_nothing_is_sent(collector, monkeypatch, tmp_path):
    _, received = collector
    monkeypatch.delenv("MASH_ZIPKIN_ENDPOINT", raising=False)
    service = f"unit-zipkin-{uuid.uuid4().hex[:8]}"
    provider = telemetry.tracer_provider(service, tmp_path / "traces")
    try:
        with provider.get_tracer("mash").start_as_current_span("quiet"):
            pass
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()
        telemetry._PROVIDERS.pop(service, None)
    assert received == []

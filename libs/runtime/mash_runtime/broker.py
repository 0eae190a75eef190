"""One way to build a Kafka broker: idempotent acks=all producer, offsets committed only after the work."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

from aiokafka.helpers import create_ssl_context
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.security import SASLPlaintext, SASLScram256, SASLScram512
from prometheus_client import CollectorRegistry

from mash_contracts.topics import LARGEST_RECORD_BYTES

from . import metadata_backoff
from .settings import KafkaSettings
from .telemetry import tracer_provider

_Sasl = SASLScram512 | SASLScram256 | SASLPlaintext
_MECHANISMS: dict[str, type[_Sasl]] = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """The client's TLS context: the broker's certificate must chain to the hub's CA (or, with no CA file, to the
    system's trust store) and name the host connected to."""
    if kafka.security_protocol != "SASL_SSL":
        return None
    if kafka.ssl_ca_file is not None and not kafka.ssl_ca_file.is_file():
        raise RuntimeError(f"KAFKA_SSL_CA_FILE {kafka.ssl_ca_file} is not a file")
    context: ssl.SSLContext = create_ssl_context(cafile=str(kafka.ssl_ca_file) if kafka.ssl_ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _security(kafka: KafkaSettings) -> _Sasl | None:
    if kafka.username is None:
        return None
    if kafka.password is None:
        raise RuntimeError("KAFKA_USERNAME is set but KAFKA_PASSWORD is not")
    return _MECHANISMS[kafka.sasl_mechanism](kafka.username, kafka.password.get_secret_value(), ssl_context=ssl_context(kafka))


def make_broker(
    service: str, kafka: KafkaSettings, traces_dir: Path | None = None, registry: CollectorRegistry | None = None
) -> KafkaBroker:
    metadata_backoff.install()
    # NACK_ON_ERROR: the offset is committed after the handler returns; an exception rewinds to the
    # message so it is delivered again. Committing before the work (FastStream's default) would lose it on a crash.
    return KafkaBroker(
        # A list: FastStream would take "a:1,b:2" for one host named "a:1,b".
        [server.strip() for server in kafka.bootstrap_servers.split(",") if server.strip()],
        security=_security(kafka),
        # Trace context in Kafka headers, so a referral's journey through every service is one trace.
        # Messages in and out, failures and handler latency per topic, for /metrics.
        middlewares=[
            KafkaTelemetryMiddleware(tracer_provider=tracer_provider(service, traces_dir)),
            *([KafkaPrometheusMiddleware(registry=registry, app_name=service, metrics_prefix="mash")] if registry else []),
        ],
        client_id=f"mash-{service}",
        acks="all",
        enable_idempotence=True,
        # A dead letter may be as large as mash.deadletter takes; the producer refuses anything larger itself,
        # before the broker could (a refusal there would break the idempotent producer's sequence on that
        # partition). The outbox's own records are held to their topics' limit when queued (store.enqueue).
        max_request_size=LARGEST_RECORD_BYTES,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        allow_auto_create_topics=False,
        graceful_timeout=30.0,
        logger=logging.getLogger(f"mash.{service}.broker"),
    )

"""Settings from environment variables (pydantic BaseSettings). docker-compose.yml sets the same names."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    # The service's own Kafka identity; the broker's ACLs allow it exactly its catalogue topics.
    username: str | None = None
    password: SecretStr | None = None
    sasl_mechanism: str = "SCRAM-SHA-512"
    # TLS on every listener; SASL over plain TCP only when an operator chooses it for a local experiment.
    security_protocol: Literal["SASL_SSL", "SASL_PLAINTEXT"] = "SASL_SSL"
    ssl_ca_file: Path | None = Field(None, description="The hub CA's certificate (PEM) brokers are verified against")


class ServiceSettings(BaseSettings):
    """What every service reads. A service subclasses it for its own settings (same MASH_ prefix)."""

    model_config = SettingsConfigDict(env_prefix="MASH_", extra="ignore")

    state_dir: Path = Field(Path(".mash"), description="Where the service keeps its database and files")
    log_level: str = "INFO"
    instance: str = Field("1", description="Distinguishes several instances of one service")
    keys_dir: Path = Field(Path(".mash/keys"), description="Service keys and the public key directory (`mash keys init`)")
    database_url: str | None = Field(None, description="SQLAlchemy URL of the service's store; default SQLite in the state dir")
    http_host: str = Field("127.0.0.1", description="Where health, metrics (and any service routes) listen")
    http_port: int | None = Field(None, description="Port for /health/live, /health/ready, /metrics; unset: no HTTP")
    traces_dir: Path | None = Field(
        None, description="Where spans are written as JSON lines (`mash trace`); OTLP by OTEL_* variables"
    )
    anchor_seconds: float = Field(
        60.0,
        gt=0,
        description="How often the audit chain's head is anchored on mash.audit.anchors "
        "while it moves (and at start and shutdown)",
    )
    stall_seconds: float = Field(
        120.0,
        gt=0,
        description="A consumed partition whose committed offset has not moved for "
        "this long while records wait is stalled: readiness fails, metric and alert name it",
    )

    def db_url(self, service: str) -> str:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        return self.database_url or f"sqlite:///{self.state_dir / (service + '.db')}"

"""Settings from environment variables (pydantic BaseSettings). docker-compose.yml sets the same names."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"


class ServiceSettings(BaseSettings):
    """What every service reads. A service subclasses it for its own settings (same MASH_ prefix)."""

    model_config = SettingsConfigDict(env_prefix="MASH_", extra="ignore")

    state_dir: Path = Field(Path(".mash"), description="Where the service keeps its database and files")
    log_level: str = "INFO"
    instance: str = Field("1", description="Distinguishes several instances of one service")
    keys_dir: Path = Field(Path(".mash/keys"), description="Service keys and the public key directory (`mash keys init`)")

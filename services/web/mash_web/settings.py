"""The web front door's settings (MASH_ prefix, like every service's)."""

from __future__ import annotations

from pydantic import Field

from mash_runtime.settings import ServiceSettings


class WebSettings(ServiceSettings):
    decision_url: str | None = Field(
        None, description="The decision service's HTTP API (the manager's workspace reads and decides through it)"
    )
    idle_minutes: float = Field(15.0, gt=0, description="A signed-in session unused this long ends; the draft is kept")

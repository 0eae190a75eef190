from pydantic import Field

from mash_runtime.settings import ServiceSettings


class AnalysisSettings(ServiceSettings):
    retention_sweep_seconds: float = Field(
        60.0, description="How often cases crypto-shredded by retention are looked for, so their identifiers are erased here too"
    )

from pydantic import Field

from mash_runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model: str = Field("default", description="Threshold model whose [screening] section sets the initial RAG rating and "
                       "statutory footing: a name in mash_contracts/threshold/models/ or a path to a TOML file (MASH_MODEL, "
                       "the same setting the decision service reads)")

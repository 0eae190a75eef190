from pydantic import Field

from mash_runtime.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model: str = Field(
        "default",
        description="Threshold model whose [screening] section sets the initial RAG rating and "
        "statutory footing: a name in mash_contracts/threshold/models/ or a path to a TOML file (MASH_MODEL, "
        "the same setting the decision service reads)",
    )
    duplicate_window_hours: float = Field(
        72.0,
        ge=0,
        description="A submission under a new reference from the same "
        "referrer about the same person at risk with a concern category in common, "
        "received within this many hours of the referral it duplicates, is linked to "
        "that referral as its next revision (MASH_DUPLICATE_WINDOW_HOURS; 0: only at "
        "the same instant)",
    )

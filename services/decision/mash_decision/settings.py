from pydantic import Field

from mash_contracts import Agency
from mash_contracts.topics import RESEARCHERS
from mash_runtime.settings import ServiceSettings


class DecisionSettings(ServiceSettings):
    expected_desks: list[Agency] = Field(list(RESEARCHERS), description="Desks whose contribution completes a referral")
    model: str = Field(
        "default", description="Threshold model: a name in mash_contracts/threshold/models/ or a path to a TOML file"
    )
    auto_confirm_levels: list[int] | None = Field(
        None, description="Override the model's levels routed without a manager (the demo and tests confirm all)"
    )
    timescales: dict | None = Field(
        None, description='Override model timescales, e.g. {"green_return_hours": 0.01, "around_the_clock": ["red", "green"]}'
    )
    http_host: str = Field("127.0.0.1", description="Where the manager's HTTP interface listens")
    http_port: int | None = Field(None, description="Port of the manager's HTTP interface and health checks; unset: no HTTP")
    sweep_seconds: float = Field(5.0, description="How often deadlines are checked and manager decisions relayed")
    declared_findings: dict[Agency, list[str]] | None = Field(
        None,
        description="The findings each desk may report, as its sharing policy declares them (`findings` in the desk's "
        "policy.toml); a finding outside its desk's declaration is refused. Required: the service will not start without it",
    )
    contribution_hold_seconds: float = Field(
        3600.0,
        description="How long a contribution for a referral not yet received is held before it is dead-lettered and alerted",
    )

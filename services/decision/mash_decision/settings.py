from pydantic import Field

from mash_contracts import Agency
from mash_contracts.topics import DESK_AGENCIES
from mash_runtime.settings import ServiceSettings


class DecisionSettings(ServiceSettings):
    expected_desks: list[Agency] = Field(list(DESK_AGENCIES), description="Desks whose contribution completes a referral")

from pydantic import Field

from mash_contracts import Agency
from mash_contracts.topics import DESK_AGENCIES
from mash_runtime.settings import ServiceSettings


class DecisionSettings(ServiceSettings):
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite in the state directory")
    expected_desks: list[Agency] = Field(list(DESK_AGENCIES), description="Desks whose contribution completes a referral")

    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.state_dir / 'decision.db'}"

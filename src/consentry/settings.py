"""One settings object, read from the environment (``CONSENTRY_*``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSENTRY_", extra="ignore")

    home: Path = Field(default=Path(".consentry"), description="Data directory.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default is a SQLite file in the data directory.",
    )
    environment: str = Field(default="development", description="development or production.")
    platform_name: str = Field(
        default="The platform",
        description="The platform's name: the data controller named in consent receipts.",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'consentry.db').resolve()}"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"


@lru_cache
def get_settings() -> Settings:
    return Settings()

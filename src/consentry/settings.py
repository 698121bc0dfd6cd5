"""One settings object, read from the environment (``CONSENTRY_*``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from pydantic import Field, field_validator
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
    post_url_template: str = Field(
        default="/posts/{post_id}",
        description="Where the platform shows a post, with {post_id} for its id: the users' "
        "own record links each shared post there.",
    )

    site_url: str = Field(
        default="http://localhost:8000",
        description="The platform's public site (scheme and host) where crawlers read "
        "robots.txt: the rights signals' absolute links (License:, tdm-policy) point there.",
    )
    licensing_contact: str = Field(
        default="licensing@example.com",
        description="Who a crawler or AI developer asks for a license to train on the "
        "platform's posts (an email address or a URL): named in the RSL document and the "
        "TDMRep policy.",
    )
    licensing_terms_url: str | None = Field(
        default=None,
        description="The platform's licensing terms (a URL) named by the RSL document and the "
        "TDMRep policy; default <site_url>/terms/ai-licensing.",
    )
    transparency_threshold: int = Field(
        default=10,
        ge=1,
        description="The public transparency report shows no count below this; such a count "
        "reads 'fewer than N' so that no individual can be singled out.",
    )

    @field_validator("site_url")
    @classmethod
    def _is_a_site(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or value.rstrip("/").count("/") > 2:
            raise ValueError(
                "must be the site's scheme and host without a path, e.g. https://social.example"
            )
        return value.rstrip("/")

    @property
    def terms_url(self) -> str:
        return self.licensing_terms_url or f"{self.site_url}/terms/ai-licensing"

    @field_validator("post_url_template")
    @classmethod
    def _names_the_post(cls, value: str) -> str:
        if "{post_id}" not in value:
            raise ValueError(
                "must contain {post_id} where the post's id goes, e.g. "
                "https://social.example/posts/{post_id}"
            )
        return value

    def post_url(self, post_id: str) -> str:
        """The platform's address of a post (the id URL-quoted; no other placeholder read)."""
        return self.post_url_template.replace("{post_id}", quote(post_id, safe=""))

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

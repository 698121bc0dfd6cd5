"""The service's settings: the project's settings plus the secrets and limits of the web app.

Secrets are never defaulted outside development. In development a missing secret is generated
once into ``<home>/keys/service-secrets.json`` (mode 0600), so the CLI (which prints sign-in
links) and every server worker share it.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pydantic import Field

from consentry.errors import InvalidInput
from consentry.settings import Settings

MIN_SECRET_CHARS = 32


class ServiceSettings(Settings):
    platform_secret: str | None = Field(
        default=None,
        description="HMAC key shared with the platform; it signs the users' sign-in links.",
    )
    session_secret: str | None = Field(
        default=None, description="Key that signs session cookies and CSRF tokens."
    )
    max_body_bytes: int = Field(
        default=5 * 1024 * 1024, description="Largest request body accepted (413 beyond)."
    )
    signin_max_age_seconds: int = Field(
        default=900, description="Longest lifetime a sign-in link may claim."
    )
    session_max_age_seconds: int = Field(
        default=12 * 3600, description="How long a session cookie stays valid."
    )
    cookie_secure: bool | None = Field(
        default=None, description="Send cookies over HTTPS only; default: true in production."
    )
    auth_failure_limit: int = Field(
        default=10,
        description="Invalid credentials of one kind (platform token, collaborator API key, "
        "staff password, sign-in link) from one client address, or with one key prefix or "
        "username, before further invalid ones get 429; valid ones always work.",
    )
    auth_failure_window_seconds: int = Field(
        default=60, description="Window over which invalid credentials are counted."
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed "
        "(comma-separated addresses or networks, as uvicorn's --forwarded-allow-ips; '*' any). "
        "Empty: none, and the connecting peer's address is the client's (rate limits, audit).",
    )
    propagation: bool = Field(
        default=True,
        description="Judge delivered records again in the background after each consent or "
        "content change, issuing deletion notices (off: only `consentry notices propagate`).",
    )

    webhook_retry_seconds: list[int] = Field(
        default=[0, 5, 30, 120, 600],
        description="Delay before each webhook attempt after the first failed one: one entry "
        "per attempt (the first is sent at once); its length is the number of attempts.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, description="How long one webhook attempt waits for an answer."
    )
    webhook_poll_seconds: float = Field(
        default=5.0,
        description="How often the server's background thread sends due webhooks (0: never; "
        "then run `consentry notices webhooks --run` from a scheduler).",
    )

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment == "production"

    def secret(self, name: str) -> str:
        """The named secret; generated on first use in development, required in production."""
        value = getattr(self, name)
        if value:
            if len(value) < MIN_SECRET_CHARS:
                raise InvalidInput(
                    f"must be at least {MIN_SECRET_CHARS} characters; generate one with "
                    "`python -c 'import secrets; print(secrets.token_urlsafe())'`",
                    field=f"CONSENTRY_{name.upper()}",
                )
            return value
        if self.environment != "development":
            raise InvalidInput(
                f"is required when CONSENTRY_ENVIRONMENT={self.environment}",
                field=f"CONSENTRY_{name.upper()}",
            )
        return _development_secrets(self.keys_dir)[name]


def service_settings(settings: Settings) -> ServiceSettings:
    """The service settings for ``settings`` (environment fills in what it does not set)."""
    if isinstance(settings, ServiceSettings):
        return settings
    return ServiceSettings(**settings.model_dump())


def _development_secrets(keys_dir: Path) -> dict[str, str]:
    path = keys_dir / "service-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    keys_dir.mkdir(parents=True, exist_ok=True)
    values = {name: secrets.token_urlsafe(32) for name in ("platform_secret", "session_secret")}
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(values, out)
    try:
        # Another process may have won the race; its file then stands and ours is dropped.
        os.link(partial, path)
    except FileExistsError:
        pass
    finally:
        partial.unlink()
    return json.loads(path.read_text())

"""The one FastAPI application, built by ``create_app`` for ``consentry serve`` and the tests."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import Engine

from consentry import __version__
from consentry.service import errors
from consentry.service.api import collaborator, content, platform, records
from consentry.service.config import service_settings
from consentry.service.headers import SecurityHeaders
from consentry.service.limits import BodyLimit
from consentry.service.readers import reader_for
from consentry.service.security import FailureLimiter
from consentry.service.web import admin, settings_page, signin
from consentry.service.web.render import templates
from consentry.settings import Settings, get_settings
from consentry.store.db import get_engine
from consentry.store.snapshot import ReferenceCache

STATIC = Path(__file__).resolve().parent / "static"

DESCRIPTION = """\
Consentry's service: the users' "Data sharing and personalization" page, the **platform API**
(service token) to send accounts, posts, deletions and consent events and to ask whether a post
may be shared, and the **collaborator API** (scoped API keys) to fetch deliveries.

Errors are JSON `{"detail": ..., "field": ..., "where": ...}`.
"""

TAGS = [
    {"name": "platform", "description": "For the platform's backend; `Bearer cpt_...` token."},
    {
        "name": "collaborator",
        "description": "For collaborators; `Bearer cst_...` API key with scopes. Deliveries "
        "now; deletion notices (`/api/collaborator/notices`, scopes `notices:read` and "
        "`notices:ack`) are coming.",
    },
    {"name": "user", "description": "The signed-in user's own data (session cookie)."},
]


class Health(BaseModel):
    status: str
    version: str


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    """The application on ``settings``' database (or ``engine``); secrets are checked now."""
    config = service_settings(settings)
    app = FastAPI(
        title="Consentry",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = config
    app.state.engine = engine or get_engine(config)
    app.state.reader = reader_for(app.state.engine)
    app.state.platform_secret = config.secret("platform_secret")
    app.state.session_secret = config.secret("session_secret")
    app.state.limiter = FailureLimiter(
        config.auth_failure_limit, config.auth_failure_window_seconds
    )
    app.state.reference = ReferenceCache()
    app.state.verified_tokens = {}
    app.state.templates = templates()
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    errors.install(app)
    for module in (platform, content, records, collaborator, settings_page, signin, admin):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/health", response_model=Health, tags=["platform"])
    def health() -> Health:
        """Liveness: the server answers (no credentials needed)."""
        return Health(status="ok", version=__version__)

    return app


def app_from_environment() -> FastAPI:
    """The uvicorn factory for ``consentry serve`` workers: settings from CONSENTRY_*."""
    return create_app(get_settings())

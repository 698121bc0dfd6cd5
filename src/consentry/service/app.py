"""The one FastAPI application, built by ``create_app`` for ``consentry serve`` and the tests."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import Engine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from consentry import __version__
from consentry.service import errors
from consentry.service.api import collaborator, content, notices, platform, records, signals
from consentry.service.config import service_settings
from consentry.service.headers import SecurityHeaders
from consentry.service.limits import BodyLimit, FailureLimiter
from consentry.service.logs import hide_signin_tokens_in_access_log
from consentry.service.propagation import BackgroundPropagator
from consentry.service.readers import reader_for
from consentry.service.web import admin, receipts, settings_page, signin, transparency
from consentry.service.web.render import templates
from consentry.service.webhooks import WebhookSender
from consentry.settings import Settings, get_settings
from consentry.store.consent import consent_writes
from consentry.store.db import get_engine
from consentry.store.snapshot import ReferenceCache

STATIC = Path(__file__).resolve().parent / "static"

DESCRIPTION = """\
Consentry's service: the users' "Data sharing and personalization" page, the **platform API**
(service token) to send accounts, posts, deletions and consent events and to ask whether a post
may be shared, and the **collaborator API** (scoped API keys) to fetch deliveries and to read
and acknowledge deletion notices (also sent as signed Standard Webhooks events to a registered
endpoint).

Errors are JSON `{"detail": ..., "field": ..., "where": ...}`, whatever went wrong. Invalid
credentials are limited per kind, per key prefix and per address (429 with `Retry-After`,
saying which); a valid credential is always admitted.
"""

TAGS = [
    {"name": "platform", "description": "For the platform's backend; `Bearer cpt_...` token."},
    {
        "name": "collaborator",
        "description": "For collaborators; `Bearer cst_...` API key with scopes. Deliveries "
        "(`deliveries:read`, active collaborators only) and deletion notices "
        "(`/api/collaborator/notices`, scopes `notices:read` and `notices:ack`, whatever the "
        "collaborator's status).",
    },
    {"name": "user", "description": "The signed-in user's own data (session cookie)."},
    {
        "name": "signals",
        "description": "Rights signals for crawlers: robots.txt, the RSL license, TDMRep (public), "
        "and the headers for each page (`/api/signals`, service token).",
    },
    {"name": "public", "description": "The public transparency report (no credentials)."},
]


class Health(BaseModel):
    status: str
    version: str


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    """The application on ``settings``' database (or ``engine``); secrets are checked now."""
    config = service_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """While the server runs, a background thread sends due webhook events."""
        sender = None
        if config.webhook_poll_seconds > 0:
            sender = WebhookSender(app.state.engine, config, config.webhook_poll_seconds)
            sender.start()
        yield
        if sender is not None:
            sender.stop()

    app = FastAPI(
        lifespan=lifespan,
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
    app.state.writes = consent_writes(app.state.engine)
    app.state.propagator = BackgroundPropagator(app.state.engine, enabled=config.propagation)
    app.state.verified_tokens = {}
    app.state.templates = templates()
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    if config.forwarded_allow_ips:  # outermost: every layer sees the forwarded client
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=config.forwarded_allow_ips)
    errors.install(app)
    routers = (platform, content, records, collaborator, notices, signals, settings_page, signin)
    for module in (*routers, admin, receipts, transparency):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/health", response_model=Health, tags=["platform"])
    def health() -> Health:
        """Liveness: the server answers (no credentials needed)."""
        return Health(status="ok", version=__version__)

    return app


GC_YOUNG_THRESHOLD = 50_000
"""Container allocations between young collections (Python's default is 700)."""


def app_from_environment() -> FastAPI:
    """The uvicorn factory for ``consentry serve`` workers: settings from CONSENTRY_*."""
    hide_signin_tokens_in_access_log()
    app = create_app(get_settings())
    quiet_garbage_collector()
    return app


def quiet_garbage_collector() -> None:
    """Keep the cycle collector off the request path of a serving process.

    A bulk check builds some 100,000 row tuples and values: with the default thresholds they
    set off young and full collections that walked every object of the process (the app, its
    routes, templates, caches), and collection took a third of a 10,000-post request. What
    exists once the app is built lives as long as the process, so it is frozen out of
    collections; and young collections wait for ``GC_YOUNG_THRESHOLD`` allocations. Requests'
    objects are freed by reference counting as before; cycles are still collected, later.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)

"""Every page a person can open, user's and staff's, fits a 390 px phone screen without
sideways scrolling and has no axe-core violations. The pages are read from the app's own route
table (every GET route answering HTML), so a new page cannot be forgotten: a path parameter this
test has no value for fails it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute

from consentry.pipeline.export import run_export
from consentry.pipeline.propagate import propagate
from consentry.reports import REPORTS
from consentry.service.security import make_signin_token
from consentry.store.consent import record_consent
from consentry.store.db import session_scope
from consentry.store.jobs import request_export
from consentry.store.models import DeletionNotice, DeliveryMember
from consentry.store.policies import draft_policy
from e2e.conftest import PHONE, axe_violations, fits_the_screen
from e2e.test_admin_journey import sign_in_as_staff
from service.world import PLATFORM_SECRET, Service

pytestmark = pytest.mark.browser
NOT_SIGNED_IN = {"/auth/signin", "/admin/login"}
"""Pages seen before signing in (the sign-in link's page: here, a link with no token)."""


def html_get_routes(app: FastAPI) -> list[str]:
    """The path of every GET route that answers HTML, from the app's route table."""

    def flatten(routes: list[Any]) -> Iterator[Any]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "effective_route_contexts"):  # FastAPI's included routers
                yield from route.effective_route_contexts()

    return sorted(
        {
            route.path
            for route in flatten(app.routes)
            if "GET" in route.methods and route.response_class is HTMLResponse
        }
    )


def world_values(site: Service, tmp_path: Path) -> dict[str, list[str]]:
    """A real delivery, its invoice line, a deletion notice and an export job; the values each
    path parameter takes."""
    result = run_export(
        site.engine,
        site.settings,
        license_id="lic-acme",
        cutoff=datetime.now(UTC),
        out_dir=tmp_path / "delivery",
    )
    with session_scope(site.engine) as session:
        record_consent(
            session,
            account_id="cy",
            purpose="train_ai_system",
            decision="deny",
            source="settings",
            actor="user:cy",
        )
    propagate(site.engine, account_ids=["cy"])
    with session_scope(site.engine) as session:
        notice = session.query(DeletionNotice).first()
        member = session.query(DeliveryMember).first()
        job = request_export(
            session, license_id="lic-bolt", cutoff=None, delta=False, actor="staff:alice"
        )
        assert notice is not None and member is not None
        draft_policy(  # a draft, so that its preview page (publishing's first step) renders
            session,
            version="v9",
            summary="Nothing changes but the wording.",
            defaults={},
            purposes=["train_ai_system"],
            full_text="# Our policy\n\nNothing changes but the wording.",
            actor="staff:alice",
        )
        values = {
            "version": ["v9"],
            "collaborator_id": ["acme"],
            "job_id": [job.id],
            "delivery_id": [result.delivery_id],
            "notice_id": [str(notice.id)],
            "record": [member.post_id],
            "name": sorted(REPORTS),
            "account_id": ["cy"],
        }
    site.app.state.propagator.wait_idle()
    return values


PREVIEW_EFFECTIVE = (datetime.now(UTC) + timedelta(days=40)).date().isoformat()


def expand(path: str, values: dict[str, list[str]]) -> list[str]:
    names = re.findall(r"{(\w+)}", path)
    missing = [n for n in names if n not in values]
    assert not missing, f"{path}: no value for {missing}; add one to world_values"
    paths = [path]
    for name in names:
        paths = [p.replace(f"{{{name}}}", v) for p in paths for v in values[name]]
    if path.endswith("/preview"):  # publishing's preview asks for the effective date
        paths = [f"{p}?effective={PREVIEW_EFFECTIVE}" for p in paths]
    return paths


def test_every_page_fits_a_phone_and_has_no_accessibility_violations(
    browser, site: Service, tmp_path: Path
) -> None:
    routes = html_get_routes(site.app)
    assert {"/me/data-sharing", "/me/policies", "/admin", "/admin/audit"} <= set(routes)
    values = world_values(site, tmp_path)
    user = browser.new_context(viewport=PHONE, locale="en-GB")
    user_page = user.new_page()
    token = make_signin_token(PLATFORM_SECRET, "cy", zone="Europe/Berlin")
    user_page.goto(f"{site.url}/auth/signin?token={token}")
    staff = browser.new_context(viewport=PHONE, locale="en-GB")
    staff_page = staff.new_page()
    sign_in_as_staff(staff_page, site, "alice")
    anonymous = browser.new_context(viewport=PHONE, locale="en-GB")
    anonymous_page = anonymous.new_page()

    problems = {}
    visited = []
    for route in routes:
        for path in expand(route, values):
            if route in NOT_SIGNED_IN:
                page, ok = anonymous_page, (200, 401)
            elif route.startswith("/admin"):
                page, ok = staff_page, (200,)
            else:
                page, ok = user_page, (200,)
            response = page.goto(site.url + path)
            assert response is not None and response.status in ok, f"{path}: {response.status}"
            visited.append(path)
            found = axe_violations(page)
            if not fits_the_screen(page):
                wide = page.evaluate("document.documentElement.scrollWidth")
                found.append(f"{wide} px wide at 390 px")
            if found:
                problems[path] = found
    assert problems == {}, "\n".join(f"{p}: {found}" for p, found in problems.items())
    assert len(visited) >= len(routes)
    for context in (user, staff, anonymous):
        context.close()

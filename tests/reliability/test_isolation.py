"""Isolation: every route of the app (read from its route table, so a new route without an entry
here fails the test) against every role. Each role gets what is its own and nothing else: a
refused request is 401, 403 or 404 (or a redirect to a sign-in page), and changes nothing (the
consent ledger and the audit log are exactly as before).

Owner A's resources are in every path: bob's account and receipts, Acme's delivery and notice.
User B (cy) and collaborator B (Bolt) must not reach them; a suspended collaborator (Idle Co,
with a key) reaches no delivery at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy import Engine, func, select

from consentry.pipeline.keys import webhook_cipher
from consentry.service.app import create_app
from consentry.service.background import running
from consentry.store.credentials import create_api_key, create_platform_token
from consentry.store.db import session_scope
from consentry.store.jobs import request_export
from consentry.store.models import AuditEvent, ConsentEvent
from consentry.store.parties import set_collaborator_status
from consentry.store.webhooks import add_endpoint
from service.notices_world import issue
from service.world import (
    Service,
    csrf_of,
    seed_deliveries,
    seed_staff,
    seed_world,
    service_settings,
    sign_in,
    staff_signed_in,
)

ROLES = (
    "anonymous", "user_a", "user_b", "collaborator_a", "collaborator_b",
    "suspended_collaborator", "viewer", "admin", "platform",
)  # fmt: skip
USERS = {"user_a", "user_b"}
COLLABORATORS = {"collaborator_a", "collaborator_b", "suspended_collaborator"}
STAFF = {"viewer", "admin"}
EVERYONE = set(ROLES)


@dataclass(frozen=True)
class Case:
    """One route: how to call it, and who may."""

    allowed: set[str]
    params: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    query: dict[str, str] = field(default_factory=dict)
    public: bool = False
    """Anyone may call it and it reveals nothing of anyone's (docs, health, sign-in forms)."""
    answers: frozenset[int] = frozenset({200})
    """What an allowed role gets for a GET (or a POST, if given)."""


def _cases(ids: dict[str, str]) -> dict[tuple[str, str], Case]:
    acme_delivery = {"delivery_id": "d-acme-1"}
    record = {"delivery_id": "d-acme-1", "record": "r-d-acme-1-bob-1"}
    platform, admin, staff = {"platform"}, {"admin"}, STAFF
    return {
        ("GET", "/openapi.json"): Case(EVERYONE, public=True),
        ("GET", "/docs"): Case(EVERYONE, public=True),
        ("GET", "/docs/oauth2-redirect"): Case(EVERYONE, public=True),
        ("GET", "/api/health"): Case(EVERYONE, public=True),
        ("GET", "/receipts/context.jsonld"): Case(EVERYONE, public=True),
        ("GET", "/static"): Case(EVERYONE, params={"path": "style.css"}, public=True),
        ("GET", "/admin/login"): Case(EVERYONE, public=True),
        ("POST", "/admin/login"): Case(
            EVERYONE, form={"username": "alice", "password": "wrong"}, public=True
        ),
        ("GET", "/auth/signin"): Case(EVERYONE, query={"token": "forged"}, public=True),
        # platform API
        ("POST", "/api/platform/may-share"): Case(
            platform, json={"post_id": "bob-1", "collaborator_id": "acme"}
        ),
        ("POST", "/api/platform/may-share/bulk"): Case(
            platform, json={"post_ids": ["bob-1"], "collaborator_id": "acme"}
        ),
        ("POST", "/api/platform/consent-events"): Case(
            platform, json={"account_id": "bob", "decision": "deny", "external_id": "iso-1"}
        ),
        ("PUT", "/api/platform/accounts/{account_id}"): Case(
            platform, params={"account_id": "bob"}, json={"handle": "bob"}
        ),
        ("PUT", "/api/platform/posts/{post_id}"): Case(
            platform, params={"post_id": "bob-1"}, json={"lang": "en"}
        ),
        ("POST", "/api/platform/accounts/{account_id}/deletion"): Case(
            platform, params={"account_id": "nia"}, json={}
        ),
        ("POST", "/api/platform/posts/{post_id}/deletion"): Case(
            platform, params={"post_id": "nia-1"}, json={}
        ),
        ("GET", "/api/platform/accounts/{account_id}/shared-records"): Case(
            platform, params={"account_id": "bob"}
        ),
        # collaborator API: Acme's delivery and notice
        ("GET", "/api/collaborator/deliveries"): Case({"collaborator_a", "collaborator_b"}),
        ("GET", "/api/collaborator/deliveries/{delivery_id}"): Case(
            {"collaborator_a"}, params=acme_delivery
        ),
        ("GET", "/api/collaborator/deliveries/{delivery_id}/manifest"): Case(
            {"collaborator_a"}, params=acme_delivery
        ),
        ("GET", "/api/collaborator/deliveries/{delivery_id}/manifest.sig"): Case(
            {"collaborator_a"}, params=acme_delivery
        ),
        ("GET", "/api/collaborator/deliveries/{delivery_id}/shards/{name}"): Case(
            {"collaborator_a"}, params={**acme_delivery, "name": "part-00000.parquet"}
        ),
        ("GET", "/api/collaborator/notices"): Case(COLLABORATORS),
        ("GET", "/api/collaborator/notices/{notice_id}"): Case(
            {"collaborator_a"}, params={"notice_id": ids["notice"]}
        ),
        ("POST", "/api/collaborator/notices/{notice_id}/ack"): Case(
            {"collaborator_a"}, params={"notice_id": ids["notice"]}, json={"shards": []}
        ),
        # the user's own pages and data: bob's
        ("GET", "/me/data-sharing"): Case(USERS),
        ("GET", "/api/me/data-sharing"): Case(USERS),
        ("POST", "/me/data-sharing"): Case(USERS, form={"decision": "deny"}),
        ("GET", "/api/me/shared-records"): Case(USERS),
        ("GET", "/api/me/shared-records.csv"): Case(USERS),
        ("GET", "/api/me/consent-receipts"): Case(USERS),
        ("GET", "/api/me/consent-receipts/{event_id}"): Case(
            {"user_a"}, params={"event_id": ids["event"]}
        ),
        ("GET", "/api/me/consent-receipts/{event_id}.jsonld"): Case(
            {"user_a"}, params={"event_id": ids["event"]}
        ),
        ("GET", "/api/me/consent-receipts/{event_id}.sig"): Case(
            {"user_a"}, params={"event_id": ids["event"]}
        ),
        ("POST", "/auth/signout"): Case(USERS, form={}),
        # staff: viewers read, admins change
        ("GET", "/admin"): Case(staff),
        ("POST", "/admin/logout"): Case(staff, form={}),
        ("GET", "/admin/policies"): Case(staff),
        ("GET", "/admin/policies/new"): Case(staff),  # the form; publishing needs an admin
        ("POST", "/admin/policies"): Case(admin, form={"version": "v9", "summary": "x"}),
        ("GET", "/admin/policies/{version}"): Case(staff, params={"version": "v1"}),
        ("POST", "/admin/policies/{version}/publish"): Case(
            admin, params={"version": "v1"}, form={"effective": "2030-01-01T00:00:00Z"}
        ),
        ("GET", "/admin/collaborators"): Case(staff),
        ("POST", "/admin/collaborators"): Case(
            admin, form={"id": "iso-new", "name": "New", "country": "US"}
        ),
        ("GET", "/admin/collaborators/{collaborator_id}"): Case(
            staff, params={"collaborator_id": "acme"}
        ),
        ("POST", "/admin/collaborators/{collaborator_id}/status"): Case(
            admin, params={"collaborator_id": "idle"}, form={"status": "suspended"}
        ),
        ("POST", "/admin/collaborators/{collaborator_id}/keys"): Case(
            admin, params={"collaborator_id": "acme"}, form={}
        ),
        ("POST", "/admin/collaborators/{collaborator_id}/keys/{key_id}/revoke"): Case(
            admin, params={"collaborator_id": "acme", "key_id": ids["spare_key"]}, form={}
        ),
        ("POST", "/admin/collaborators/{collaborator_id}/webhooks"): Case(
            admin, params={"collaborator_id": "acme"}, form={"url": "http://127.0.0.1:9/x"}
        ),
        ("POST", "/admin/collaborators/{collaborator_id}/webhooks/{endpoint_id}/disable"): Case(
            admin, params={"collaborator_id": "acme", "endpoint_id": ids["endpoint"]}, form={}
        ),
        ("GET", "/admin/licenses"): Case(staff),
        ("POST", "/admin/licenses"): Case(admin, form={"id": "iso-lic"}),
        ("GET", "/admin/exports"): Case(staff),
        ("POST", "/admin/exports"): Case(  # an unknown license: no export thread is started
            admin, form={"license_id": "no-such-license"}, answers=frozenset({404})
        ),
        ("GET", "/admin/exports/{job_id}"): Case(staff, params={"job_id": ids["job"]}),
        ("GET", "/admin/deliveries"): Case(staff),
        ("GET", "/admin/deliveries/{delivery_id}"): Case(staff, params=acme_delivery),
        ("GET", "/admin/notices"): Case(staff),
        ("GET", "/admin/notices/{notice_id}"): Case(staff, params={"notice_id": ids["notice"]}),
        ("POST", "/admin/notices/{notice_id}/ack"): Case(
            admin, params={"notice_id": ids["notice"]}, form={"note": "on their behalf"}
        ),
        ("GET", "/admin/audit"): Case(staff),
        ("GET", "/admin/deliveries/{delivery_id}/records"): Case(
            staff,
            params=acme_delivery,
            query={"record": "r-d-acme-1-bob-1"},
            answers=frozenset({303}),  # to the record's page
        ),
        ("GET", "/admin/deliveries/{delivery_id}/records/{record}.json"): Case(
            staff, params=record
        ),
        ("GET", "/admin/deliveries/{delivery_id}/records/{record}"): Case(staff, params=record),
        ("GET", "/admin/policies/{version}/preview"): Case(  # v1 is published: past the role
            staff,
            params={"version": "v1"},
            answers=frozenset({409}),  # check, then refused
        ),
        ("GET", "/admin/accounts"): Case(staff),
        ("GET", "/admin/accounts/{account_id}"): Case(staff, params={"account_id": "bob"}),
        ("GET", "/admin/reports"): Case(staff),
        ("GET", "/admin/reports/{name}"): Case(staff, params={"name": "deliveries"}),
        ("GET", "/admin/reports/{name}.json"): Case(staff, params={"name": "deliveries"}),
        ("GET", "/admin/reports/{name}.csv"): Case(
            staff, params={"name": "deliveries"}, query={"section": "delivered"}
        ),
        ("GET", "/admin/invoices"): Case(staff),
        ("GET", "/admin/invoices.csv"): Case(staff),
        ("GET", "/admin/invoices/{delivery_id}"): Case(  # seeded deliveries are not billed yet
            staff, params=acme_delivery, answers=frozenset({200, 404})
        ),
        ("POST", "/admin/invoices/bill"): Case(admin, form={}, answers=frozenset({303})),
        # the user's policy history
        ("GET", "/me/policies"): Case(USERS),
        ("GET", "/api/me/policies"): Case(USERS),
        # rights signals: the site files are public, page-by-page answers are the platform's
        ("GET", "/robots.txt"): Case(EVERYONE, public=True),
        ("GET", "/license.xml"): Case(EVERYONE, public=True),
        ("GET", "/.well-known/tdmrep.json"): Case(EVERYONE, public=True),
        ("GET", "/.well-known/tdm-policy.json"): Case(EVERYONE, public=True),
        ("GET", "/api/signals"): Case(platform, query={"post_id": "bob-1"}),
        ("POST", "/api/signals"): Case(platform, json={"post_ids": ["bob-1"]}),
        # the transparency report: aggregates only, for everyone
        ("GET", "/transparency"): Case(EVERYONE, public=True),
        ("GET", "/transparency.json"): Case(EVERYONE, public=True),
    }


def app_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route the app answers, included routers and mounts too."""
    found = set()
    for route in iter_route_contexts(app.routes):
        methods = getattr(route, "methods", None) or {"GET"}  # a mount (static files)
        for method in set(methods) - {"HEAD", "OPTIONS"}:
            found.add((method, route.path))
    return found


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[tuple[Service, dict[str, str]]]:
    seed_world(engine)
    seed_deliveries(engine, tmp_path / "deliveries")
    seed_staff(engine)
    settings = service_settings(
        tmp_path / "home", engine, auth_failure_limit=1_000_000, propagation=False
    )
    ids: dict[str, str] = {"notice": str(issue(engine, "d-acme-1", ["bob-1"]))}
    with session_scope(engine) as session:
        ids["platform"] = create_platform_token(session, name="backend", actor="test")[1]
        ids["acme"] = create_api_key(session, collaborator_id="acme", scopes=None, actor="t")[1]
        ids["bolt"] = create_api_key(session, collaborator_id="bolt", scopes=None, actor="t")[1]
        ids["idle"] = create_api_key(session, collaborator_id="idle", scopes=None, actor="t")[1]
        spare = create_api_key(session, collaborator_id="acme", scopes=None, actor="t")[0]
        ids["spare_key"] = spare.id
        set_collaborator_status(session, id="idle", status="suspended", actor="t")
        endpoint, _ = add_endpoint(
            session,
            collaborator_id="acme",
            url="http://127.0.0.1:9/hook",
            cipher=webhook_cipher(settings.home),
            actor="t",
        )
        ids["endpoint"] = str(endpoint.id)
        job = request_export(session, license_id="lic-acme", cutoff=None, delta=False, actor="t")
        ids["job"] = job.id
    app = create_app(settings, engine=engine)
    with running(app) as url:
        service = Service(url, engine, settings, app)
        with service.client(headers={"Authorization": f"Bearer {ids['platform']}"}) as client:
            answer = client.post(
                "/api/platform/consent-events",
                json={
                    "account_id": "bob",
                    "decision": "allow",
                    "effective_at": datetime(2024, 12, 1, tzinfo=UTC).isoformat(),
                },
            )
            assert answer.status_code == 201, answer.text
            ids["event"] = str(answer.json()["id"])
        yield service, ids
    app.state.reader.dispose()


def _clients(stack: ExitStack, service: Service, ids: dict[str, str]) -> dict[str, httpx.Client]:
    bearer = {
        "platform": ids["platform"],
        "collaborator_a": ids["acme"],
        "collaborator_b": ids["bolt"],
        "suspended_collaborator": ids["idle"],
    }
    clients = {"anonymous": stack.enter_context(service.client())}
    for role, credential in bearer.items():
        headers = {"Authorization": f"Bearer {credential}"}
        clients[role] = stack.enter_context(service.client(headers=headers))
    clients["user_a"] = stack.enter_context(sign_in(service, "bob"))
    clients["user_b"] = stack.enter_context(sign_in(service, "cy"))
    clients["viewer"] = stack.enter_context(staff_signed_in(service, "victor"))
    clients["admin"] = stack.enter_context(staff_signed_in(service, "alice"))
    return clients


def _csrf(role: str, client: httpx.Client) -> str:
    page = "/me/data-sharing" if role in USERS else "/admin" if role in STAFF else None
    return csrf_of(client.get(page).text) if page else ""


def _call(client: httpx.Client, method: str, path: str, case: Case, csrf: str) -> httpx.Response:
    url = path.format(**case.params) if case.params else path
    if path == "/static":
        url = f"/static/{case.params['path']}"
    form = {**case.form, "csrf_token": csrf} if case.form is not None else None
    return client.request(
        method, url, params=case.query, json=case.json, data=form, follow_redirects=False
    )


def _ledger_and_audit(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        return (
            session.scalar(select(func.count()).select_from(ConsentEvent)) or 0,
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def _refused(response: httpx.Response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    where = response.headers.get("location", "")
    return response.status_code in (302, 303, 307) and ("login" in where or "signin" in where)


def test_every_route_has_an_expectation(world: tuple[Service, dict[str, str]]) -> None:
    service, ids = world
    routes, cases = app_routes(service.app), set(_cases(ids))
    missing, gone = sorted(routes - cases), sorted(cases - routes)
    assert not missing, f"routes without an entry in the isolation table: {missing}"
    assert not gone, f"entries for routes the app no longer has: {gone}"


@pytest.mark.slow
def test_no_role_reads_or_changes_what_is_not_its_own(
    world: tuple[Service, dict[str, str]], figures: dict[str, Any]
) -> None:
    service, ids = world
    cases = _cases(ids)
    problems: list[str] = []
    requests = 0
    with ExitStack() as stack:
        clients = _clients(stack, service, ids)
        tokens = {role: _csrf(role, client) for role, client in clients.items()}
        # Refusals first, each checked to change nothing; then what each role may do.
        for (method, path), case in sorted(cases.items()):
            for role in sorted(set(ROLES) - case.allowed):
                before = _ledger_and_audit(service.engine)
                response = _call(clients[role], method, path, case, tokens[role])
                requests += 1
                if not _refused(response):
                    problems.append(f"{role} {method} {path}: {response.status_code}")
                elif _ledger_and_audit(service.engine) != before:
                    problems.append(f"{role} {method} {path}: refused but changed the records")
        last = {("POST", "/auth/signout"), ("POST", "/admin/logout")}
        for key in sorted(cases, key=lambda k: (k in last, k[0] != "GET", k)):
            method, path = key
            case = cases[key]
            for role in sorted(case.allowed):
                response = _call(clients[role], method, path, case, tokens[role])
                requests += 1
                status = response.status_code
                expected = case.answers if method == "GET" or 200 not in case.answers else None
                if case.public:
                    if status >= 500:
                        problems.append(f"{role} {method} {path}: {status}")
                elif expected is not None:
                    if status not in expected:
                        problems.append(f"{role} {method} {path}: {status}, not {sorted(expected)}")
                elif status >= 500 or status in (401, 403, 404):
                    problems.append(f"{role} {method} {path}: {status} (should be allowed)")
                elif role == "collaborator_b" and "d-acme-1" in response.text:
                    problems.append(f"{role} {method} {path}: shows Acme's delivery")
                elif role == "user_b" and "bob-1" in response.text:
                    problems.append(f"{role} {method} {path}: shows bob's posts")
    figures.update(routes=len(cases), roles=len(ROLES), requests=requests, problems=problems)
    assert not problems, "\n".join(problems)

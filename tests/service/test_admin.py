"""The admin pages over real HTTP: staff sign in, viewers read, admins change, every change is
audited, a published policy reaches the users' page, an export runs in the background."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import pytest
from sqlalchemy import Engine, select

from consentry.store.db import session_scope
from consentry.store.models import AuditEvent, Collaborator, License
from consentry.store.policies import get_policy
from service.world import Service, csrf_of, sign_in, staff_login, staff_signed_in

pytestmark = pytest.mark.usefixtures("staff")


def audited(engine: Engine, action: str) -> list[AuditEvent]:
    with session_scope(engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def post_form(client: httpx.Client, page: str, action: str, data: dict) -> httpx.Response:
    return client.post(action, data={"csrf_token": csrf_of(client.get(page).text), **data})


def test_staff_sign_in_with_a_password_and_land_on_the_overview(
    service: Service, engine: Engine
) -> None:
    with service.client() as client:
        wrong = staff_login(client, "alice", "nope")
        assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
        assert client.get("/admin").status_code == 303
    with staff_signed_in(service, "alice") as alice:
        overview = alice.get("/admin")
    assert overview.status_code == 200
    assert "Policy versions" in overview.text and "an admin" in overview.text
    assert [e.actor for e in audited(engine, "staff.signin")] == ["staff:alice"]


def test_without_signing_in_every_page_sends_to_the_login(service: Service) -> None:
    with service.client() as client:
        for path in ("/admin", "/admin/policies", "/admin/audit", "/admin/deliveries"):
            response = client.get(path)
            assert (response.status_code, response.headers["location"]) == (303, "/admin/login")


def test_a_viewer_reads_but_cannot_change(service: Service, engine: Engine) -> None:
    with staff_signed_in(service, "victor") as victor:
        page = victor.get("/admin/policies")
        assert page.status_code == 200 and "v1" in page.text
        assert "Draft a new version" not in page.text
        token = csrf_of(victor.get("/admin").text)
        refused = victor.post(
            "/admin/collaborators",
            data={"csrf_token": token, "id": "x", "name": "X", "country": "US"},
        )
    assert refused.status_code == 403 and "viewer" in refused.text
    with session_scope(engine) as session:
        assert session.get(Collaborator, "x") is None


def test_a_viewers_change_is_refused_before_its_form_is_read(service: Service) -> None:
    """A form with fields missing or wrong is 403 to a viewer, not 422: the role is checked
    first, so a viewer learns nothing of a form's rules (found by the isolation matrix)."""
    with staff_signed_in(service, "victor") as victor:
        for action in ("/admin/collaborators", "/admin/licenses", "/admin/policies"):
            refused = victor.post(action, data={})
            assert refused.status_code == 403, (action, refused.status_code)


def test_a_change_without_the_csrf_token_is_refused(service: Service) -> None:
    with staff_signed_in(service, "alice") as alice:
        response = alice.post(
            "/admin/collaborators", data={"id": "x", "name": "X", "country": "US"}
        )
    assert response.status_code == 403


def test_an_admin_drafts_previews_confirms_publishes_and_users_see_the_banner(
    service: Service, engine: Engine
) -> None:
    effective = (datetime.now(UTC) + timedelta(days=31)).date()
    with staff_signed_in(service, "alice") as alice:
        form = alice.get("/admin/policies/new").text
        # prefilled from v1: a row of selects with US chosen and opt_out chosen
        assert re.search(r'<option value="US" selected>United States \(US\)</option>', form)
        assert '<option value="opt_out" selected>' in form
        created = post_form(
            alice,
            "/admin/policies/new",
            "/admin/policies",
            {
                "version": "v2",
                "summary": "AI training needs a yes everywhere.",
                "purposes": ["train_ai_system"],
                "d_purpose": ["train_ai_system", "train_ai_system", ""],
                "d_jurisdiction": ["*", "US", ""],
                "d_rule": ["opt_in", "opt_in", ""],
            },
        )
        assert created.status_code == 303
        detail = unescape(alice.get("/admin/policies/v2").text)
        preview = alice.get("/admin/policies/v2/preview", params={"effective": str(effective)})
        assert preview.status_code == 200
        summary = unescape(preview.text)
        # bob, cy and nia (US) are shared by v1's opt-out default, two posts each; v2 none
        assert (
            "lic-acme (acme): 0 posts from 0 accounts could be delivered, against 6 from 3 "
            "under the policy in force (-6 posts)."
        ) in summary
        unconfirmed = post_form(
            alice,
            "/admin/policies/v2",
            "/admin/policies/v2/publish",
            {"effective": str(effective)},
        )
        assert unconfirmed.status_code == 422
        assert 'id="err-confirm">Tick the box to confirm' in unconfirmed.text
        assert get_policy_status(engine, "v2") == "draft"
        published = post_form(
            alice,
            "/admin/policies/v2",
            "/admin/policies/v2/publish",
            {"effective": str(effective), "confirm": "yes"},
        )
        assert published.status_code == 303
    kinds = dict(
        re.findall(r"<tr><td>train_ai_system</td><td>([^<]+)</td>.*?<td>(\w+)</td></tr>", detail)
    )
    assert kinds == {"*": "added", "EU": "removed", "GB": "removed", "US": "changed"}
    assert "<del>Collaborators may train AI models on public posts.</del>" in detail
    assert [e.actor for e in audited(engine, "policy.publish")][-1] == "staff:alice"
    with sign_in(service, "bob") as bob:
        page = unescape(bob.get("/me/data-sharing").text)
    assert f"Our policy changes on {effective.day} {effective:%B %Y} (version v2)" in page


def get_policy_status(engine: Engine, version: str) -> str:
    with session_scope(engine) as session:
        return get_policy(session, version).status


def test_a_half_filled_defaults_row_is_refused_beside_it(service: Service) -> None:
    with staff_signed_in(service, "alice") as alice:
        response = post_form(
            alice,
            "/admin/policies/new",
            "/admin/policies",
            {
                "version": "v2",
                "summary": "s",
                "purposes": ["train_ai_system"],
                "d_purpose": ["train_ai_system", "train_ai_system"],
                "d_jurisdiction": ["US", "DE"],
                "d_rule": ["opt_out", ""],
            },
        )
    assert response.status_code == 422
    assert (
        '<p class="field-error" id="err-default-1">Choose a purpose, a jurisdiction and a '
        "default, or none.</p>"
    ) in response.text
    assert 'aria-invalid="true" aria-describedby="err-default-1"' in response.text


def test_a_policy_from_the_form_covers_its_purposes_with_no_defaults_and_a_notice_period(
    service: Service, engine: Engine
) -> None:
    with staff_signed_in(service, "alice") as alice:
        form = alice.get("/admin/policies/new").text
        assert 'name="purposes" value="train_ai_system" checked' in form  # prefilled from v1
        assert 'type="number" id="notice_days" name="notice_days" value="30"' in form
        created = post_form(
            alice,
            "/admin/policies/new",
            "/admin/policies",
            {
                "version": "v2",
                "summary": "Nothing is shared without a yes.",
                "full_text": "# Our policy\n\n- Nothing is shared without a yes.",
                "purposes": ["train_ai_system", "personalize"],
                "notice_days": "14",
            },
        )
        assert created.status_code == 303
        detail = unescape(alice.get("/admin/policies/v2").text)
        listing = alice.get("/admin/policies").text
    assert "Covers personalize, train_ai_system." in detail
    assert "Notice period for new collaborators: 14 days." in detail
    assert '<td data-label="Notice (days)">14</td>' in listing
    with session_scope(engine) as session:
        policy = get_policy(session, "v2")
        assert (policy.purposes, policy.notice_days) == (["personalize", "train_ai_system"], 14)
        assert policy.full_text == "# Our policy\n\n- Nothing is shared without a yes."
    [draft] = [e for e in audited(engine, "policy.draft") if e.object_id == "v2"]
    assert draft.actor == "staff:alice"
    assert draft.details["notice_days"] == 14 and draft.details["defaults"] == {}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({}, "purposes", "Tick at least one purpose"),
        ({"purposes": ["train_ai_system"], "notice_days": "a month"}, "notice_days", "whole"),
        ({"purposes": ["train_ai_system"], "notice_days": "-3"}, "notice_days", "negative"),
    ],
)
def test_a_policy_form_without_a_purpose_or_with_a_bad_notice_period_is_refused(
    service: Service, engine: Engine, fields: dict[str, object], field: str, message: str
) -> None:
    with staff_signed_in(service, "alice") as alice:
        response = post_form(
            alice,
            "/admin/policies/new",
            "/admin/policies",
            {"version": "v2", "summary": "s", "notice_days": "30", **fields},
        )
    assert response.status_code == 422
    shown = re.search(rf'<p class="field-error" id="err-{field}">([^<]+)</p>', response.text)
    assert shown and message in unescape(shown.group(1))
    assert [e.object_id for e in audited(engine, "policy.draft")] == ["v1"]


def test_a_collaborator_listed_from_a_chosen_time_shows_it_and_the_status_it_is_in(
    service: Service, engine: Engine
) -> None:
    with staff_signed_in(service, "alice") as alice:
        added = post_form(
            alice,
            "/admin/collaborators",
            "/admin/collaborators",
            {"id": "cora", "name": "Cora", "country": "DE", "listed_at": "2025-03-01T09:30"},
        )
        assert added.status_code == 303
        page = alice.get("/admin/collaborators/cora").text
        listing = alice.get("/admin/collaborators").text
        bad = post_form(
            alice,
            "/admin/collaborators",
            "/admin/collaborators",
            {"id": "dora", "name": "Dora", "country": "DE", "listed_at": "soon"},
        )
        suspended = post_form(
            alice,
            "/admin/collaborators/cora",
            "/admin/collaborators/cora/status",
            {"status": "suspended"},
        )
        assert suspended.status_code == 303
        after = unescape(alice.get("/admin/collaborators/cora").text)
    assert re.search(
        r'<span id="listed-at"><time [^>]+>1 March 2025 at 09:30 UTC</time></span>', page
    )
    assert "1 March 2025 at 09:30 UTC" in listing
    assert bad.status_code == 422 and "field 'listed_at'" in unescape(bad.text)
    assert 'value="soon"' in bad.text  # the form keeps what was typed
    assert "Suspended: its API keys get no deliveries" in after
    with session_scope(engine) as session:
        assert session.get(Collaborator, "cora").listed_at == datetime(
            2025, 3, 1, 9, 30, tzinfo=UTC
        )
        assert session.get(Collaborator, "dora") is None
    [add] = [e for e in audited(engine, "collaborator.add") if e.object_id == "cora"]
    assert (add.actor, add.details["listed_at"]) == ("staff:alice", "2025-03-01T09:30:00+00:00")
    [status] = audited(engine, "collaborator.status")
    assert (status.actor, status.details) == ("staff:alice", {"from": "active", "to": "suspended"})


def test_an_api_key_is_shown_once_works_and_can_be_revoked(
    service: Service, engine: Engine
) -> None:
    with staff_signed_in(service, "alice") as alice:
        created = post_form(
            alice,
            "/admin/collaborators/acme",
            "/admin/collaborators/acme/keys",
            {"scopes": ["deliveries:read"]},
        )
        key = re.search(r'<code id="new-key">(cst_[^<]+)</code>', created.text).group(1)
        again = alice.get("/admin/collaborators/acme").text
        assert key not in again
        with service.client(headers={"Authorization": f"Bearer {key}"}) as acme:
            assert acme.get("/api/collaborator/deliveries").status_code == 200
            key_id = key.split("_")[1]
            revoked = post_form(
                alice,
                "/admin/collaborators/acme",
                f"/admin/collaborators/acme/keys/{key_id}/revoke",
                {},
            )
            assert revoked.status_code == 303
            assert acme.get("/api/collaborator/deliveries").status_code == 401
    assert [e.actor for e in audited(engine, "api_key.revoke")] == ["staff:alice"]


def test_collaborators_and_licenses_are_added_from_forms(service: Service, engine: Engine) -> None:
    with staff_signed_in(service, "alice") as alice:
        added = post_form(
            alice,
            "/admin/collaborators",
            "/admin/collaborators",
            {"id": "cora", "name": "Cora Research", "country": "de"},
        )
        assert added.status_code == 303
        refused = post_form(
            alice,
            "/admin/licenses",
            "/admin/licenses",
            {
                "id": "lic-cora",
                "collaborator_id": "cora",
                "kinds": ["post"],
                "term_start": "2025-06-01",
                "term_end": "2025-01-01",
                "price": "-5",
                "deletion_sla_days": "-1",
            },
        )
        assert refused.status_code == 422
        for field, words in (
            ("term_end", "The term must end after it starts."),
            ("price", "a price cannot be negative"),
            ("deletion_sla_days", "a negative or zero deadline is refused"),
        ):
            shown = re.search(rf'<p class="field-error" id="err-{field}">([^<]+)</p>', refused.text)
            assert shown and words in unescape(shown.group(1)), field
        assert 'value="-5"' in refused.text  # the form keeps what was typed
        good = post_form(
            alice,
            "/admin/licenses",
            "/admin/licenses",
            {
                "id": "lic-cora",
                "collaborator_id": "cora",
                "kinds": ["post", "reply"],
                "languages": [],
                "public_only": "true",
                "fields": ["post_id", "text", "created_at"],
                "redact": "true",
                "coarsen_timestamps": "month",
                "term_start": "2025-01-01",
                "price_model": "per_1k_tokens",
                "price": "0.40",
                "currency": "EUR",
                "creator_share": "12.5",
            },
        )
        assert good.status_code == 303
    with session_scope(engine) as session:
        assert session.get(Collaborator, "cora").country == "DE"
        lic = session.get(License, "lic-cora")
        assert lic.term_start == datetime(2025, 1, 1, tzinfo=UTC)
        assert lic.scope == {
            "kinds": ["post", "reply"],
            "public_only": True,
            "include_pre_policy_posts": False,
        }
        assert lic.transforms == {
            "redact": True,
            "pseudonymize": False,
            "coarsen_timestamps": "month",
        }
        assert (lic.price_model, lic.price_minor, lic.currency) == ("per_1k_tokens", 40, "EUR")
        assert (lic.creator_share_bp, lic.fields) == (1250, ["post_id", "text", "created_at"])
    assert [e.object_id for e in audited(engine, "license.add")][-1] == "lic-cora"


@pytest.mark.usefixtures("delivered")
def test_deliveries_and_the_audit_log_are_listed(service: Service) -> None:
    with staff_signed_in(service, "victor") as victor:
        listing = victor.get("/admin/deliveries").text
        detail = victor.get("/admin/deliveries/d-acme-1").text
        audit = victor.get("/admin/audit", params={"verify": "true"}).text
        filtered = victor.get("/admin/audit", params={"action": "license.add"}).text
        missing = victor.get("/admin/deliveries/d-none")
    assert "d-acme-1" in listing and "d-bolt-1" in listing
    assert "part-00000.parquet" in detail and "from 2 accounts" in detail
    assert "Consent chain" in audit and "intact" in audit
    assert "license.add" in filtered and "collaborator.add" not in filtered
    assert missing.status_code == 404 and "/admin/deliveries" in missing.text


def test_an_export_started_from_the_admin_runs_and_reports_progress(
    service: Service, engine: Engine
) -> None:
    pytest.importorskip("consentry.pipeline.export")
    with staff_signed_in(service, "alice") as alice:
        started = post_form(alice, "/admin/exports", "/admin/exports", {"license_id": "lic-acme"})
        assert started.status_code == 303
        job_page = started.headers["location"]
        deadline = time.monotonic() + 120
        while True:
            page = alice.get(job_page).text
            status = re.search(r'<strong id="job-status">(\w+)</strong>', page).group(1)
            if status not in ("queued", "running") or time.monotonic() > deadline:
                break
            assert "data-live" in page  # static/live.js keeps the status current
            time.sleep(0.5)
    assert status == "complete", unescape(page)
    delivery_id = re.search(r'href="/admin/deliveries/([^"]+)"', page).group(1)
    with staff_signed_in(service, "victor") as victor:
        detail = victor.get(f"/admin/deliveries/{delivery_id}").text
    assert "complete" in detail
    assert [e.actor for e in audited(engine, "export.request")] == ["staff:alice"]

"""Deletion notices on the admin pages: the list filters by collaborator and status and shows
overdue notices with their due dates; a notice's page shows its records, acknowledgement with
shard hashes and webhook attempts; viewers read, admins acknowledge on the collaborator's behalf
(audited); admins register webhook endpoints, whose secret is shown once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import pytest
from sqlalchemy import Engine

from consentry.pipeline.keys import webhook_cipher
from consentry.store import webhooks
from consentry.store.db import session_scope
from consentry.store.ledger import audit_events
from consentry.store.notices import get_notice
from service.notices_world import issue
from service.world import Service, csrf_of, staff_signed_in

pytestmark = pytest.mark.usefixtures("staff", "delivered")

SHA = "ef" * 32


def post_form(client: httpx.Client, page: str, action: str, data: dict) -> httpx.Response:
    return client.post(action, data={"csrf_token": csrf_of(client.get(page).text), **data})


def raw_rows(html: str) -> list[str]:
    return re.findall(r"<tr>(.*?)</tr>", html, re.S)


def rows(html: str) -> list[str]:
    """The table rows' text, tags removed."""
    return [re.sub(r"<[^>]+>", " ", r) for r in raw_rows(html)]


def test_the_list_shows_overdue_notices_with_due_dates_and_filters(
    service: Service, engine: Engine
) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=45)
    late = issue(engine, "d-acme-1", ["bob-1"], issued_at=long_ago, sla_days=30)
    fresh = issue(engine, "d-bolt-1")
    with staff_signed_in(service, "victor") as victor:
        page = victor.get("/admin/notices").text
        [late_row] = [r for r in raw_rows(page) if f'href="/admin/notices/{late}"' in r]
        assert "overdue" in late_row and f"{(long_ago + timedelta(days=30)):%Y-%m-%d}" in late_row
        [fresh_row] = [r for r in raw_rows(page) if f'href="/admin/notices/{fresh}"' in r]
        assert "overdue" not in fresh_row and "issued" in fresh_row
        only_late = victor.get("/admin/notices", params={"status": "overdue"}).text
        assert f'href="/admin/notices/{late}"' in only_late
        assert f'href="/admin/notices/{fresh}"' not in only_late
        bolt = victor.get("/admin/notices", params={"collaborator": "bolt"}).text
        assert f'href="/admin/notices/{fresh}"' in bolt
        assert f'href="/admin/notices/{late}"' not in bolt
        overview = victor.get("/admin").text
        assert 'href="/admin/notices"' in overview
        [overdue_row] = [r for r in rows(overview) if "Overdue deletion notices" in r]
        assert overdue_row.split()[-1] == "1"
        assert victor.get("/admin/notices", params={"status": "late"}).status_code == 422


def test_a_viewer_reads_a_notice_but_cannot_acknowledge_it(
    service: Service, engine: Engine
) -> None:
    notice_id = issue(engine, "d-acme-1", ["bob-1", "cy-1"])
    with staff_signed_in(service, "victor") as victor:
        page = victor.get(f"/admin/notices/{notice_id}").text
        assert "r-d-acme-1-bob-1" in page and "r-d-acme-1-cy-1" in page
        assert "Not acknowledged yet" in page and "Acknowledge on" not in page
        refused = victor.post(
            f"/admin/notices/{notice_id}/ack", data={"csrf_token": csrf_of(page), "note": "x"}
        )
    assert refused.status_code == 403
    with session_scope(engine) as session:
        assert get_notice(session, notice_id).status == "issued"


def test_an_admin_acknowledges_on_behalf_with_shard_hashes_once_audited(
    service: Service, engine: Engine
) -> None:
    notice_id = issue(engine, "d-acme-1", ["bob-1"])
    page = f"/admin/notices/{notice_id}"
    action = f"{page}/ack"
    with staff_signed_in(service, "alice") as alice:
        bad = post_form(alice, page, action, {"shards": "d-acme-1 part-00000.parquet 123"})
        assert bad.status_code == 422 and "64 hex digits" in unescape(bad.text)
        assert "d-acme-1 part-00000.parquet 123" in bad.text  # the form keeps what was typed
        done = post_form(
            alice,
            page,
            action,
            {"note": "by email", "shards": f"d-acme-1 part-00000.parquet {SHA}"},
        )
        assert done.status_code == 303
        shown = alice.get(page).text
        assert SHA in shown and "staff:alice" in shown and "by email" in shown
        again = alice.post(action, data={"csrf_token": csrf_of(alice.get("/admin").text)})
        assert again.status_code == 409 and "already acknowledged" in unescape(again.text)
    with session_scope(engine) as session:
        [event] = audit_events(session, action="notice.ack")
        assert event.actor == "staff:alice"
        assert event.details["shards"][0]["sha256"] == SHA


def test_the_notice_page_lists_its_webhook_attempts(service: Service, engine: Engine) -> None:
    with session_scope(engine) as session:
        webhooks.add_endpoint(
            session,
            collaborator_id="acme",
            url="https://acme.example/hooks",
            cipher=webhook_cipher(service.settings.home),
            actor="test",
        )
    notice_id = issue(engine, "d-acme-1")
    with staff_signed_in(service, "victor") as victor:
        page = victor.get(f"/admin/notices/{notice_id}").text
    [attempt] = [r for r in rows(page) if "https://acme.example/hooks" in r]
    assert attempt.split()[1] == "1"


def test_an_admin_adds_a_webhook_endpoint_and_sees_its_secret_once(service: Service) -> None:
    page = "/admin/collaborators/acme"
    with staff_signed_in(service, "alice") as alice:
        added = post_form(alice, page, f"{page}/webhooks", {"url": "https://acme.example/h"})
        assert added.status_code == 200
        secret = re.search(r'id="new-webhook-secret">(whsec_[^<]+)<', added.text)
        assert secret is not None
        again = alice.get(page).text
        assert "https://acme.example/h" in again and secret.group(1) not in again
        bad = post_form(alice, page, f"{page}/webhooks", {"url": "ftp://acme.example/h"})
        assert bad.status_code == 422 and "not an http or https URL" in unescape(bad.text)

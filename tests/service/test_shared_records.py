"""The user's own record: per delivery, which posts went (the platform's ids, with links), how
they were changed, and what happened to each after a withdrawal (told to delete, deleted,
overdue); the same data as JSON and CSV, and through the platform API for data-access requests.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from consentry.pipeline.propagate import propagate
from consentry.service.app import create_app
from consentry.service.background import running
from consentry.service.web.times import UTC_VIEWER
from consentry.settings import Settings
from consentry.store.consent import record_consent
from consentry.store.db import session_scope
from consentry.store.models import DeletionNotice
from consentry.store.notices import acknowledge_notice
from service.world import Service, service_settings, sign_in

pytestmark = pytest.mark.usefixtures("delivered")
STILL_SHARED = "Still shared."


def fates(view: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(collaborator, post id) -> that post's entry, from the page's JSON twin."""
    return {
        (d["collaborator_name"], p["post_id"]): p
        for d in view["received"]
        for p in d["shared_posts"]
    }


def withdraw(engine: Engine, account_id: str) -> None:
    """The user switches AI training off for everyone; propagation takes back what was shared."""
    with session_scope(engine) as session:
        record_consent(
            session,
            account_id=account_id,
            purpose="train_ai_system",
            decision="deny",
            source="settings",
            actor="test",
        )
    propagate(engine, account_ids=[account_id])


def notice_of(engine: Engine, collaborator_id: str) -> int:
    with session_scope(engine) as session:
        return session.scalars(
            select(DeletionNotice.id).where(DeletionNotice.collaborator_id == collaborator_id)
        ).one()


def test_a_shared_post_is_still_shared_then_withdrawn_then_deleted_by_the_collaborator(
    service: Service, engine: Engine
) -> None:
    with sign_in(service, "cy") as cy:
        before = fates(cy.get("/api/me/data-sharing").json())
        withdraw(engine, "cy")
        after = fates(cy.get("/api/me/data-sharing").json())
        page = unescape(cy.get("/me/data-sharing").text)
        with session_scope(engine) as session:
            acknowledge_notice(
                session,
                notice_id=notice_of(engine, "acme"),
                collaborator_id=None,
                acknowledgement={"deleted": 1},
                actor="test",
            )
        acknowledged = fates(cy.get("/api/me/data-sharing").json())

    assert before[("Acme AI", "cy-1")]["status"] == "shared"
    assert before[("Acme AI", "cy-1")]["what_happened"] == STILL_SHARED
    assert before[("Acme AI", "cy-1")]["post_url"] == "/posts/cy-1"
    today = datetime.now(UTC)
    told = (
        f"Withdrawn: we told Acme AI on {UTC_VIEWER.date(today)} to delete it "
        f"(by {UTC_VIEWER.date(today + timedelta(days=30))})."
    )
    assert after[("Acme AI", "cy-1")]["status"] == "withdrawn"
    assert after[("Acme AI", "cy-1")]["what_happened"] == told
    assert after[("Bolt Labs", "cy-2")]["status"] == "withdrawn"
    assert told in page
    assert '<a href="/posts/cy-1">Post cy-1</a>' in page

    deleted = acknowledged[("Acme AI", "cy-1")]
    assert deleted["status"] == "deleted"
    assert deleted["what_happened"].startswith(f"Deleted by Acme AI on {UTC_VIEWER.date(today)}.")
    assert deleted["deleted_at"] is not None
    assert acknowledged[("Bolt Labs", "cy-2")]["status"] == "withdrawn"  # not acknowledged yet


def test_a_notice_past_its_due_date_and_not_acknowledged_shows_as_overdue(
    service: Service, engine: Engine
) -> None:
    withdraw(engine, "cy")
    due = datetime(2025, 4, 1, tzinfo=UTC)
    with session_scope(engine) as session:
        notice = session.get(DeletionNotice, notice_of(engine, "bolt"))
        assert notice is not None
        notice.issued_at, notice.due_at = datetime(2025, 3, 2, tzinfo=UTC), due  # time passed
    with sign_in(service, "cy") as cy:
        post = fates(cy.get("/api/me/data-sharing").json())[("Bolt Labs", "cy-2")]
    assert post["status"] == "overdue"
    assert post["what_happened"] == (
        "Withdrawn: we told Bolt Labs on 2 March 2025 to delete it by 1 April 2025. Overdue: "
        "Bolt Labs has not yet confirmed deleting it, and we are following this up."
    )


def test_each_delivery_says_in_plain_words_how_the_posts_were_changed(service: Service) -> None:
    with sign_in(service, "cy") as cy:
        received = cy.get("/api/me/data-sharing").json()["received"]
    [acme] = [r for r in received if r["collaborator_id"] == "acme"]
    assert acme["changes"] == [
        "Email addresses, phone numbers, IP addresses, card numbers, street addresses and "
        "personal web links in your posts were replaced by placeholders such as [EMAIL].",
        "@mentions of other people were replaced by a code, or by [USER] for people who do "
        "not share their posts.",
        "Your account, and each post, is shown as a code only Acme AI has: not your name or "
        "handle.",
        "Times were rounded to the day.",
    ]


def test_the_switch_says_what_happens_to_posts_already_shared_when_switched_off(
    service: Service, engine: Engine
) -> None:
    with sign_in(service, "cy") as cy:
        [ai] = cy.get("/api/me/data-sharing").json()["purposes"]
        page = unescape(cy.get("/me/data-sharing").text)
        withdraw(engine, "cy")
        [ai_after] = cy.get("/api/me/data-sharing").json()["purposes"]
    master = (
        "If you switch this off, collaborators get none of your posts from now on, and we tell "
        "those that already have some to delete them within 30 days."
    )
    assert ai["master"]["if_off"] == master and master in page
    assert {c["collaborator_id"]: c["if_off"] for c in ai["collaborators"]}["acme"] == (
        "If you switch this off, Acme AI gets none of your posts from now on, and if it already "
        "has some, we tell it to delete them within 30 days."
    )
    assert ai_after["master"]["on"] is False and ai_after["master"]["if_off"] is None


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def as_csv_row(delivery: dict[str, Any], record: dict[str, Any]) -> dict[str, str]:
    """What the CSV should say for one record of the JSON download."""
    fields = {
        **{k: v for k, v in delivery.items() if k not in ("records", "posts")},
        **record,
        "changes": " ".join(delivery["changes"]),
        "as_delivered": json.dumps(record["as_delivered"], sort_keys=True),
    }
    return {k: "" if v is None else str(v) for k, v in fields.items()}


def test_the_csv_and_the_json_download_say_the_same(service: Service, engine: Engine) -> None:
    withdraw(engine, "cy")
    with sign_in(service, "cy") as cy:
        as_json = cy.get("/api/me/shared-records")
        as_csv = cy.get("/api/me/shared-records.csv")
        as_csv_too = cy.get("/api/me/shared-records", params={"format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert 'filename="my-shared-posts.csv"' in as_csv.headers["content-disposition"]
    assert as_csv.text == as_csv_too.text
    body = as_json.json()
    expected = [as_csv_row(d, r) for d in body["deliveries"] for r in d["records"]]
    assert csv_rows(as_csv.text) == expected
    assert sorted((row["post_id"], row["status"]) for row in expected) == [
        ("cy-1", "withdrawn"),
        ("cy-2", "withdrawn"),
    ]
    assert {row["collaborator_name"] for row in expected} == {"Acme AI", "Bolt Labs"}
    assert json.loads(expected[0]["as_delivered"])["text"].startswith("text of cy-")


def test_the_platform_api_serves_the_same_record_for_data_access_requests(
    service: Service, engine: Engine, platform: httpx.Client
) -> None:
    withdraw(engine, "cy")
    with sign_in(service, "cy") as cy:
        mine = cy.get("/api/me/shared-records").json()
        my_csv = cy.get("/api/me/shared-records.csv").text
    theirs = platform.get("/api/platform/accounts/cy/shared-records")
    their_csv = platform.get("/api/platform/accounts/cy/shared-records", params={"format": "csv"})
    assert theirs.status_code == 200
    assert {**theirs.json(), "generated_at": None} == {**mine, "generated_at": None}
    assert their_csv.text == my_csv

    with service.client() as anonymous:
        refused = anonymous.get("/api/platform/accounts/cy/shared-records")
    with service.client(headers={"Authorization": "Bearer cpt_wrong"}) as wrong:
        wrong_token = wrong.get("/api/platform/accounts/cy/shared-records")
    assert refused.status_code == 401 and "service token" in refused.text
    assert wrong_token.status_code == 401
    assert platform.get("/api/platform/accounts/nobody/shared-records").status_code == 404


@pytest.fixture
def linked(engine: Engine, tmp_path: Path) -> Iterator[Service]:
    """The app with the platform's own post addresses configured."""
    settings = service_settings(
        tmp_path / "linked", engine, post_url_template="https://social.example/p/{post_id}"
    )
    app = create_app(settings, engine=engine)
    with running(app) as url:
        yield Service(url, engine, settings, app)
    app.state.reader.dispose()


def test_each_shared_post_links_to_the_platforms_own_address_for_it(linked: Service) -> None:
    with sign_in(linked, "cy") as cy:
        posts = fates(cy.get("/api/me/data-sharing").json())
    assert posts[("Acme AI", "cy-1")]["post_url"] == "https://social.example/p/cy-1"
    assert Settings(post_url_template="/x/{post_id}").post_url("a b/c") == "/x/a%20b%2Fc"
    with pytest.raises(ValueError, match=r"must contain \{post_id\}"):
        Settings(post_url_template="https://social.example/posts/")

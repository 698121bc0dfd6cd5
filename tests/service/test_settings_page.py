"""'Data sharing and personalization': the switches show what the export will do, a change
counts at once and lands in the history, policy changes are announced (and the announcement
recorded), GPC is honoured where the law says so, and the user sees who received their posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from consentry.store.consent import record_consent
from consentry.store.db import session_scope
from consentry.store.models import ConsentEvent, NoticeServed, PolicyVersion
from consentry.store.parties import add_collaborator, add_license
from consentry.store.policies import draft_policy, publish_policy
from service.world import Service, csrf_of, sign_in

pytestmark = pytest.mark.usefixtures("world")


def switch(
    client: httpx.Client,
    decision: str,
    collaborator_id: str = "",
    purpose: str = "train_ai_system",
) -> httpx.Response:
    token = csrf_of(client.get("/me/data-sharing").text)
    return client.post(
        "/me/data-sharing",
        data={
            "decision": decision,
            "purpose": purpose,
            "collaborator_id": collaborator_id,
            "csrf_token": token,
        },
    )


def list_cleo(engine: Engine, *, listed_at: datetime, notice_days: int = 0) -> None:
    """Cleo AI, listed to users at ``listed_at`` (after the world's collaborators), with a
    license for AI training; v1 given a notice period of ``notice_days``."""
    with session_scope(engine) as session:
        session.scalars(
            select(PolicyVersion).where(PolicyVersion.version == "v1")
        ).one().notice_days = notice_days
        add_collaborator(
            session, id="cleo", name="Cleo AI", country="GB", listed_at=listed_at, actor="test"
        )
        add_license(
            session,
            id="lic-cleo",
            collaborator_id="cleo",
            purpose="train_ai_system",
            scope={"public_only": True},
            term_start=listed_at - timedelta(days=1),
            actor="test",
        )


def publish_every_purpose(engine: Engine) -> None:
    """v2, in force since 1 January 2025, covers four purposes; Acme also licenses
    personalisation."""
    with session_scope(engine) as session:
        draft_policy(
            session,
            version="v2",
            summary="Collaborators may also personalise, share and advertise, as you choose.",
            defaults={
                "train_ai_system": {"EU": "opt_in", "GB": "opt_in", "US": "opt_out"},
                "personalize": {"EU": "opt_in", "US": "opt_out"},
                "third_party_sharing": {"*": "opt_in"},
                "marketing.advertising": {"*": "never"},
            },
            actor="test",
        )
        publish_policy(
            session,
            version="v2",
            effective_at=datetime(2025, 1, 1, tzinfo=UTC),
            published_at=datetime(2024, 12, 1, tzinfo=UTC),
            actor="test",
        )
        add_license(
            session,
            id="lic-acme-personalize",
            collaborator_id="acme",
            purpose="personalize",
            scope={"public_only": True},
            term_start=datetime(2025, 1, 1, tzinfo=UTC),
            actor="test",
        )


def may_share(platform: httpx.Client, post_id: str, collaborator_id: str) -> tuple[bool, str]:
    answer = platform.post(
        "/api/platform/may-share", json={"post_id": post_id, "collaborator_id": collaborator_id}
    ).json()
    return answer["allowed"], answer["reason"]


def by_collaborator(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["collaborator_id"]: c for c in section["collaborators"]}


def ai(view: dict[str, Any]) -> dict[str, Any]:
    """The AI training section of the JSON twin."""
    return purpose_of(view, "train_ai_system")


def purpose_of(view: dict[str, Any], purpose: str) -> dict[str, Any]:
    [found] = [p for p in view["purposes"] if p["purpose"] == purpose]
    return found


def events(engine: Engine, account_id: str) -> list[ConsentEvent]:
    with session_scope(engine) as session:
        return list(
            session.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.account_id == account_id)
                .order_by(ConsentEvent.id)
            )
        )


def test_the_switches_show_the_default_of_the_users_region(service: Service) -> None:
    with sign_in(service, "bob") as bob, sign_in(service, "ada") as ada:
        bobs, adas = bob.get("/api/me/data-sharing").json(), ada.get("/api/me/data-sharing").json()
        bobs_page = unescape(bob.get("/me/data-sharing").text)
    assert ai(bobs)["master"]["on"] is True
    assert ai(bobs)["master"]["explanation"] == (
        "On by default since 15 November 2024 (opt-out); you can switch it off."
    )
    assert ai(adas)["master"]["on"] is False
    assert ai(adas)["master"]["explanation"] == "Off by default in your region (opt-in)."
    assert ai(bobs)["master"]["label"] in bobs_page
    assert ai(bobs)["master"]["explanation"] in bobs_page
    # One switch per collaborator with an active license, with its country and purpose.
    collaborators = ai(bobs)["collaborators"]
    assert [(c["collaborator_name"], c["collaborator_country"]) for c in collaborators] == [
        ("Acme AI", "US"),
        ("Bolt Labs", "FR"),
    ]
    assert "Allow Acme AI (US) to use my posts to train AI models" in bobs_page
    assert "Idle Co" not in bobs_page


def test_switching_off_counts_at_once_and_shows_in_the_history(
    service: Service, platform: httpx.Client, engine: Engine
) -> None:
    with sign_in(service, "bob") as bob:
        response = switch(bob, "deny")
        assert response.status_code == 303
        page = bob.get(response.headers["location"])
        view = bob.get("/api/me/data-sharing").json()
    [event] = events(engine, "bob")
    assert (event.decision, event.source, event.collaborator_id) == ("deny", "settings", None)
    assert event.policy_version == "v1"
    assert ai(view)["master"]["on"] is False
    assert ai(view)["master"]["changed_at"] is not None
    assert [(h["choice"], h["collaborator"], h["source_words"]) for h in view["history"]] == [
        ("off", "All collaborators", "this page")
    ]
    text = unescape(page.text)
    assert (
        "Saved: using your posts to train AI models is now <strong>off</strong> "
        "for all collaborators" in text
    )
    assert "this page" in text
    # What the page says is what the export will do.
    answer = platform.post(
        "/api/platform/may-share", json={"post_id": "bob-1", "collaborator_id": "acme"}
    ).json()
    assert (answer["allowed"], answer["reason"]) == (False, "denied")
    assert answer["basis"]["event_id"] == event.id


def test_one_collaborator_can_be_allowed_after_everything_was_switched_off(
    service: Service, platform: httpx.Client
) -> None:
    with sign_in(service, "bob") as bob:
        switch(bob, "deny")
        switch(bob, "allow", collaborator_id="acme")
        view = bob.get("/api/me/data-sharing").json()
    by_name = {c["collaborator_name"]: c for c in ai(view)["collaborators"]}
    assert by_name["Acme AI"]["on"] is True
    assert by_name["Bolt Labs"]["on"] is False
    assert by_name["Bolt Labs"]["explanation"].startswith(
        "Off because of your choice for all collaborators"
    )
    for collaborator, allowed in (("acme", True), ("bolt", False)):
        answer = platform.post(
            "/api/platform/may-share", json={"post_id": "bob-1", "collaborator_id": collaborator}
        ).json()
        assert answer["allowed"] is allowed


def test_a_published_future_policy_is_announced_and_the_announcement_recorded(
    service: Service, engine: Engine
) -> None:
    effective = datetime.now(UTC) + timedelta(days=30)
    with session_scope(engine) as session:
        draft_policy(
            session,
            version="v2",
            summary="From now on, AI training needs your yes everywhere.",
            defaults={"train_ai_system": {"*": "opt_in"}},
            actor="test",
        )
        publish_policy(session, version="v2", effective_at=effective, actor="test")
    with sign_in(service, "bob") as bob:
        page = unescape(bob.get("/me/data-sharing").text)
        view = bob.get("/api/me/data-sharing").json()
    [change] = view["changes"]
    assert change["version"] == "v2"
    assert change["what_changes"] == [
        "Using their posts to train AI models goes from “on unless you switch it off” to "
        "“off unless you switch it on”."
    ]
    assert change["changes_for_you"] is True
    assert f"Our policy changes on {effective:%-d %B %Y} (version v2)" in page
    assert change["what_changes"][0] in page
    with session_scope(engine) as session:
        shown = session.execute(
            select(NoticeServed.policy_version, NoticeServed.kind, NoticeServed.surface).where(
                NoticeServed.account_id == "bob"
            )
        ).all()
    assert sorted(shown) == [
        ("v1", "notice", "settings_api"),
        ("v1", "notice", "settings_page"),
        ("v2", "change_banner", "settings_api"),
        ("v2", "change_banner", "settings_page"),
    ]


def test_a_draft_policy_is_not_announced(service: Service, engine: Engine) -> None:
    with session_scope(engine) as session:
        draft_policy(
            session, version="v2", summary="draft", defaults={"train_ai_system": {}}, actor="t"
        )
    with sign_in(service, "bob") as bob:
        assert bob.get("/api/me/data-sharing").json()["changes"] == []


@pytest.mark.parametrize("account_id", ["bob", "cy", "ada"])
def test_gpc_is_recorded_once_as_a_deny_where_the_law_makes_it_an_opt_out(
    service: Service, engine: Engine, account_id: str
) -> None:
    with sign_in(service, account_id) as client:
        client.headers["Sec-GPC"] = "1"
        first = client.get("/api/me/data-sharing").json()
        page = unescape(client.get("/me/data-sharing").text)
        again = client.get("/api/me/data-sharing").json()
    recorded = events(engine, account_id)
    assert [(e.decision, e.source, e.collaborator_id) for e in recorded] == [("deny", "gpc", None)]
    assert first["gpc"]["honoured"] and first["gpc"]["recorded_at"]
    assert ai(first)["master"]["on"] is False
    assert "Global Privacy Control" in page
    assert again["history"][0]["source_words"] == "Global Privacy Control (your browser)"


def test_gpc_is_not_an_opt_out_where_no_law_says_so(service: Service, engine: Engine) -> None:
    with sign_in(service, "nia") as nia:
        view = nia.get("/api/me/data-sharing", headers={"Sec-GPC": "1"}).json()
    assert events(engine, "nia") == []
    assert view["gpc"] == {
        "signal": True,
        "honoured": False,
        "recorded_at": None,
        "message": view["gpc"]["message"],
    }
    assert "the switches below decide" in view["gpc"]["message"]
    assert ai(view)["master"]["on"] is True


def test_an_explicit_allow_after_gpc_stands_and_the_page_says_so(
    service: Service, engine: Engine
) -> None:
    with sign_in(service, "bob") as bob:
        bob.headers["Sec-GPC"] = "1"
        bob.get("/me/data-sharing")
        switch(bob, "allow")
        view = bob.get("/api/me/data-sharing").json()
    assert [(e.decision, e.source) for e in events(engine, "bob")] == [
        ("deny", "gpc"),
        ("allow", "settings"),
    ]
    assert ai(view)["master"]["on"] is True
    assert "that later choice stands" in view["gpc"]["message"]


def test_a_protected_account_is_told_nothing_is_shared(service: Service) -> None:
    with sign_in(service, "pia") as pia:
        page = unescape(pia.get("/me/data-sharing").text)
    assert "protected (private), so none of them are shared" in page


@pytest.mark.usefixtures("delivered")
def test_the_user_sees_who_received_their_posts_and_can_download_them(
    service: Service,
) -> None:
    with sign_in(service, "cy") as cy:
        view = cy.get("/api/me/data-sharing").json()
        page = unescape(cy.get("/me/data-sharing").text)
        download = cy.get("/api/me/shared-records")
    assert sorted((r["collaborator_name"], r["posts"]) for r in view["received"]) == [
        ("Acme AI", 1),
        ("Bolt Labs", 1),
    ]
    assert "Who received my posts" in page and "Bolt Labs" in page
    assert download.status_code == 200
    assert "attachment" in download.headers["content-disposition"]
    shared = download.json()
    records = {
        d["delivery_id"]: [(r["post_id"], r["as_delivered"]["text"]) for r in d["records"]]
        for d in shared["deliveries"]
    }
    assert records == {
        "d-acme-1": [("cy-1", "text of cy-1")],
        "d-bolt-1": [("cy-2", "text of cy-2")],
    }


@pytest.mark.usefixtures("delivered")
def test_someone_with_nothing_delivered_sees_so(service: Service) -> None:
    with sign_in(service, "ada") as ada:
        page = ada.get("/me/data-sharing").text
        shared = ada.get("/api/me/shared-records").json()
    assert "None of your posts have been delivered" in page
    assert shared["deliveries"] == []


def test_a_collaborator_listed_after_the_users_yes_for_all_is_new_and_needs_its_own_yes(
    service: Service, engine: Engine, platform: httpx.Client
) -> None:
    with sign_in(service, "ada") as ada:  # DE: opt-in
        switch(ada, "allow")
        listed = datetime.now(UTC)
        list_cleo(engine, listed_at=listed)
        view = ada.get("/api/me/data-sharing").json()
        page = unescape(ada.get("/me/data-sharing").text)
        switches = by_collaborator(ai(view))
        cleo = switches["cleo"]
        assert cleo["new_since_your_choice"] is True
        assert datetime.fromisoformat(cleo["listed_at"]) == listed
        assert cleo["on"] is False
        added = f"{listed.day} {listed:%B %Y}"
        assert cleo["explanation"] == (
            f"Added on {added}, after you chose for all collaborators. Your choice for all "
            "collaborators does not cover it: switch it on if you want it to get your posts."
        )
        # The master allow still covers the collaborators listed before it, and says whom not.
        assert switches["acme"]["on"] is True and not switches["acme"]["new_since_your_choice"]
        assert switches["acme"]["explanation"].startswith(
            "On because of your choice for all collaborators"
        )
        assert ai(view)["master"]["explanation"].endswith(
            "It does not cover Cleo AI, added since: choose for it below."
        )
        assert 'class="badge" id="new-cleo-train_ai_system">New since your choice' in page
        assert "New since your choice:</strong> Cleo AI." in page
        assert cleo["explanation"] in page
        assert may_share(platform, "ada-1", "cleo") == (False, "no_consent")

        switch(ada, "allow", collaborator_id="cleo")
        after = by_collaborator(ai(ada.get("/api/me/data-sharing").json()))["cleo"]
    assert (after["on"], after["new_since_your_choice"]) == (True, False)
    assert after["explanation"].startswith("You switched this on (this page, ")
    assert [(e.decision, e.purpose, e.collaborator_id) for e in events(engine, "ada")] == [
        ("allow", "train_ai_system", None),
        ("allow", "train_ai_system", "cleo"),
    ]
    assert may_share(platform, "ada-1", "cleo") == (True, None)


def test_under_opt_out_a_new_collaborator_waits_for_the_notice_period_and_says_from_when(
    service: Service, engine: Engine, platform: httpx.Client
) -> None:
    with sign_in(service, "bob") as bob, sign_in(service, "cy") as cy:  # US: opt-out
        switch(bob, "allow")  # bob said yes for all before Cleo was listed; cy never chose
        listed = datetime.now(UTC)
        list_cleo(engine, listed_at=listed, notice_days=30)
        bobs = by_collaborator(ai(bob.get("/api/me/data-sharing").json()))["cleo"]
        cys = by_collaborator(ai(cy.get("/api/me/data-sharing").json()))["cleo"]
    starts = listed + timedelta(days=30)
    added, start = f"{listed.day} {listed:%B %Y}", f"{starts.day} {starts:%B %Y}"
    assert (bobs["on"], bobs["new_since_your_choice"]) == (False, True)
    assert bobs["explanation"] == (
        f"Added on {added}, after you chose for all collaborators. Your choice for all "
        f"collaborators does not cover it: it starts receiving your posts on {start}, as for "
        "people who did not choose, unless you switch it off."
    )
    assert (cys["on"], cys["new_since_your_choice"]) == (False, False)
    assert cys["explanation"] == (
        f"Added on {added}. Starts receiving posts of people who did not choose from {start}, "
        "unless you switch it off."
    )
    assert may_share(platform, "cy-1", "cleo") == (False, "no_consent")


def test_every_purpose_a_policy_covers_has_its_section_and_a_change_counts_for_that_purpose(
    service: Service, engine: Engine, platform: httpx.Client
) -> None:
    publish_every_purpose(engine)
    with sign_in(service, "bob") as bob:
        view = bob.get("/api/me/data-sharing").json()
        page = unescape(bob.get("/me/data-sharing").text)
        response = switch(bob, "deny", collaborator_id="acme", purpose="personalize")
        saved = unescape(bob.get(response.headers["location"]).text)
        after = bob.get("/api/me/data-sharing").json()
    assert [(p["purpose"], p["heading"], p["policy_version"]) for p in view["purposes"]] == [
        ("train_ai_system", "AI training", "v2"),
        ("personalize", "Personalise what you see", "v2"),
        ("third_party_sharing", "Sharing with other companies", "v2"),
        ("marketing.advertising", "Advertising", "v2"),
    ]
    assert [p["version"] for p in view["policies"]] == ["v2"]
    masters = {p["purpose"]: p["master"] for p in view["purposes"]}
    assert {purpose: m["on"] for purpose, m in masters.items()} == {
        "train_ai_system": True,
        "personalize": True,
        "third_party_sharing": False,
        "marketing.advertising": False,
    }
    assert masters["personalize"]["explanation"] == (
        "On by default since 1 January 2025 (opt-out); you can switch it off."
    )
    assert masters["marketing.advertising"]["explanation"] == (
        "Off in your region unless you switch it on: nothing is shared by default."
    )
    personalize = purpose_of(view, "personalize")
    assert [c["collaborator_id"] for c in personalize["collaborators"]] == ["acme"]
    assert purpose_of(view, "third_party_sharing")["collaborators"] == []
    for section in view["purposes"]:
        assert f'<h2 id="purpose-{section["purpose"].replace(".", "-")}">' in page
        assert section["heading"] in page and section["description"] in page
        assert section["master"]["label"] in page
    assert "Allow Acme AI (US) to use my posts to personalise what people see" in page

    [event] = events(engine, "bob")
    assert (event.purpose, event.collaborator_id, event.decision) == ("personalize", "acme", "deny")
    assert event.policy_version == "v2"
    assert (
        "Saved: using your posts to personalise what people see is now <strong>off</strong> "
        "for Acme AI" in saved
    )
    assert by_collaborator(purpose_of(after, "personalize"))["acme"]["on"] is False
    assert by_collaborator(ai(after))["acme"]["on"] is True
    assert may_share(platform, "bob-1", "acme") == (True, None)


def test_gpc_records_a_deny_when_the_only_deny_on_file_takes_effect_in_the_future(
    service: Service, engine: Engine
) -> None:
    """Regression: GPC once took the latest event by ledger id as the user's choice, so a deny
    dated next month made the page say 'switched off' while the rule still shared."""
    with session_scope(engine) as session:
        record_consent(
            session,
            account_id="bob",
            purpose="train_ai_system",
            decision="deny",
            source="api",
            actor="test",
            effective_at=datetime.now(UTC) + timedelta(days=30),
        )
    with sign_in(service, "bob") as bob:
        view = bob.get("/api/me/data-sharing", headers={"Sec-GPC": "1"}).json()
    assert [(e.decision, e.source) for e in events(engine, "bob")] == [
        ("deny", "api"),
        ("deny", "gpc"),
    ]
    assert ai(view)["master"]["on"] is False
    assert "we switched AI training off" in view["gpc"]["message"]


@pytest.mark.usefixtures("delivered")
def test_switching_off_after_delivery_issues_a_deletion_notice_in_the_background(
    service: Service, engine: Engine
) -> None:
    from consentry.store.notices import list_notices, records_of

    with session_scope(engine) as session:
        before = {n.id for n in list_notices(session)}
    with sign_in(service, "bob") as bob:
        delivered = bob.get("/api/me/data-sharing").json()["received"]
        assert delivered, "the test world delivered some of bob's posts"
        switch(bob, "deny")
    assert service.app.state.propagator.wait_idle()
    with session_scope(engine) as session:
        new = [n for n in list_notices(session) if n.id not in before]
        assert [n.reason for n in new] == ["consent_withdrawn"] * len(new) and new
        taken = {(r.account_id, r.post_id) for n in new for r in records_of(session, n.id)}
    assert taken == {("bob", "bob-1"), ("bob", "bob-2")}

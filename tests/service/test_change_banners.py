"""Each banner of a published version not yet in effect says what it changes for exactly this
user: with no choice, with a choice for all collaborators, with a choice for one collaborator,
and, with two versions pending, the second compared with the first (not with today)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from consentry.store.db import session_scope
from consentry.store.policies import draft_policy, publish_policy
from service.test_settings_page import switch
from service.world import Service, sign_in

pytestmark = pytest.mark.usefixtures("world")
SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
LATER = SOON + timedelta(days=30)


def publish(engine: Engine, version: str, default: str, effective: datetime) -> None:
    """A version for AI training with ``default`` everywhere, published now."""
    with session_scope(engine) as session:
        draft_policy(
            session,
            version=version,
            summary=f"AI training is {default} everywhere.",
            defaults={"train_ai_system": {"*": default}},
            full_text=f"# Version {version}\n\nAI training is **{default}**.",
            actor="test",
        )
        publish_policy(session, version=version, effective_at=effective, actor="test")


def banners(service: Service, account_id: str, *choices: tuple[str, str]) -> list[dict[str, Any]]:
    """The banners ``account_id`` reads after making ``choices`` (decision, collaborator)."""
    with sign_in(service, account_id) as client:
        for decision, collaborator in choices:
            assert switch(client, decision, collaborator).status_code == 303
        changes: list[dict[str, Any]] = client.get("/api/me/data-sharing").json()["changes"]
        return changes


def for_you(change: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {s["collaborator_id"]: s for s in change["for_you"]}


def test_with_no_choice_the_banner_says_the_new_default_switches_sharing_off(
    service: Service, engine: Engine
) -> None:
    publish(engine, "v2", "opt_in", SOON)
    [change] = banners(service, "bob")  # US-CA: opt-out under v1
    mine = for_you(change)
    assert change["changes_for_you"] is True
    assert mine[None]["on_before"] is True and mine[None]["on_after"] is False
    assert mine[None]["sentence"].startswith("All collaborators: on until ")
    assert mine[None]["sentence"].endswith(
        "then off, because you have not chosen for all collaborators, so the default for your "
        "region applies: off unless you switch it on."
    )
    assert "you have chosen neither for it nor for all collaborators" in mine["acme"]["sentence"]


def test_a_choice_for_all_collaborators_stands_and_the_banner_says_nothing_changes(
    service: Service, engine: Engine
) -> None:
    publish(engine, "v2", "opt_in", SOON)
    [change] = banners(service, "bob", ("allow", ""))
    mine = for_you(change)
    assert change["changes_for_you"] is False
    assert mine[None]["sentence"].startswith(
        "All collaborators: stays on, because you switched it on for all collaborators on "
    )
    assert mine["acme"]["sentence"].startswith(
        "Acme AI: stays on, because it follows your choice for all collaborators (on since "
    )
    assert not any("not chosen" in s["sentence"] for s in change["for_you"])


def test_a_choice_for_one_collaborator_is_named_as_the_users_own(
    service: Service, engine: Engine
) -> None:
    """The bug of issue 14: 'You have not chosen' to a user with a per-collaborator choice."""
    publish(engine, "v2", "opt_in", SOON)
    [change] = banners(service, "bob", ("deny", "acme"))
    mine = for_you(change)
    assert mine["acme"]["on_before"] is False and mine["acme"]["on_after"] is False
    assert mine["acme"]["sentence"].startswith(
        "Acme AI: stays off, because you switched it off for Acme AI on "
    )
    assert mine["bolt"]["on_before"] is True and mine["bolt"]["on_after"] is False
    assert mine[None]["sentence"].startswith("All collaborators: on until ")


def test_with_two_versions_pending_the_second_banner_compares_with_the_first(
    service: Service, engine: Engine
) -> None:
    publish(engine, "v2", "opt_in", SOON)
    publish(engine, "v3", "opt_out", LATER)
    first, second = banners(service, "bob")
    assert [first["version"], second["version"]] == ["v2", "v3"]
    assert first["previous_version"] == "v1" and second["previous_version"] == "v2"
    assert second["what_changes"] == [
        "Using their posts to train AI models goes from “off unless you switch it on” to "
        "“on unless you switch it off”."
    ]
    assert for_you(first)[None]["on_before"] is True and for_you(first)[None]["on_after"] is False
    master = for_you(second)[None]
    assert master["on_before"] is False and master["on_after"] is True
    assert master["sentence"].startswith("All collaborators: off until ")
    assert second["changed"] == [
        "AI training: in your region it was off unless you switch it on; now it is on unless "
        "you switch it off."
    ]


def test_the_policy_in_force_has_its_full_text_and_every_version_has_a_page(
    service: Service, engine: Engine
) -> None:
    publish(engine, "v2", "opt_in", SOON)
    with sign_in(service, "bob") as bob:
        page = bob.get("/me/data-sharing").text
        versions = bob.get("/api/me/policies").json()
        history = bob.get("/me/policies").text
    assert 'href="/me/policies"' in page
    assert [v["version"] for v in versions] == ["v2", "v1"]
    assert versions[0]["full_text"].startswith("# Version v2")
    assert versions[1]["changed"] == [
        "AI training: newly covered; in your region it is on unless you switch it off."
    ]
    assert "<h3>Version v2</h3>" in history  # Markdown, headings under the page's own
    assert "<strong>opt_in</strong>" in history


def test_markdown_in_a_policy_is_shown_safely(service: Service, engine: Engine) -> None:
    with session_scope(engine) as session:
        draft_policy(
            session,
            version="v2",
            summary="x",
            defaults={"train_ai_system": {"*": "opt_in"}},
            full_text="<script>alert(1)</script>\n\n"
            '[click](javascript:alert(1)) <img src=x onerror="y">',
            actor="test",
        )
        publish_policy(session, version="v2", effective_at=SOON, actor="test")
    with sign_in(service, "bob") as bob:
        history = bob.get("/me/policies").text
    assert "<script>alert(1)" not in history and "&lt;script&gt;alert(1)" in history
    assert 'href="javascript:' not in history and "<img" not in history

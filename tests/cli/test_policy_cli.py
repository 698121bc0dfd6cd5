"""``consentry policy draft``: a version says which purposes it covers, may have no defaults at
all (a first policy often has none for AI training), and states its notice period."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from cli.conftest import Run
from consentry.settings import get_settings
from consentry.store.db import get_engine, session_scope
from consentry.store.ledger import audit_events
from consentry.store.policies import get_policy, list_policies, policy_facts


def _engine() -> Engine:
    return get_engine(get_settings())


def test_a_first_policy_covers_ai_training_with_no_defaults(cli: Run) -> None:
    drafted = cli(
        "policy", "draft", "v1", "--summary", "AI training.", "--purpose", "train_ai_system"
    )
    assert "drafted policy v1 (train_ai_system; notice 30 days)" in drafted.output
    cli(
        "policy",
        "publish",
        "v1",
        "--published-at",
        "2024-10-01T00:00:00Z",
        "--effective",
        "2024-11-01T00:00:00Z",
    )
    with session_scope(_engine()) as session:
        [fact] = policy_facts(session)
        [draft] = audit_events(session, action="policy.draft")
    assert fact.version == "v1" and fact.purposes == frozenset({"train_ai_system"})
    assert fact.defaults == {}
    assert fact.effective_at == datetime(2024, 11, 1, tzinfo=UTC)
    assert fact.notice_days == 30
    assert draft.details["purposes"] == ["train_ai_system"]
    assert draft.details["defaults"] == {} and draft.details["notice_days"] == 30
    shown = cli("policy", "show", "v1").output
    assert "train_ai_system" in shown and "opt_in everywhere (no defaults)" in shown


def test_a_version_that_covers_no_purpose_is_refused_saying_how_to_name_one(cli: Run) -> None:
    refused = cli("policy", "draft", "v1", "--summary", "Nothing.", ok=False)
    assert refused.exit_code == 1
    assert "field 'purposes'" in refused.output
    assert "must say which purposes it covers" in refused.output
    assert "--purpose train_ai_system" in refused.output
    with session_scope(_engine()) as session:
        assert list_policies(session) == []
        assert audit_events(session, action="policy.draft") == []


def test_the_covered_purposes_are_those_given_and_those_with_defaults(cli: Run) -> None:
    cli(
        "policy",
        "draft",
        "v1",
        "--summary",
        "Two purposes.",
        "--purpose",
        "train_ai_system",
        "--default",
        "personalize:US=opt_out",
    )
    with session_scope(_engine()) as session:
        assert get_policy(session, "v1").purposes == ["personalize", "train_ai_system"]


def test_an_unknown_purpose_is_refused(cli: Run) -> None:
    refused = cli("policy", "draft", "v1", "--summary", "s", "--purpose", "mind_reading", ok=False)
    assert refused.exit_code == 1 and "field 'purpose'" in refused.output
    assert "mind_reading" in refused.output


def test_the_notice_period_is_stored_listed_and_shown(cli: Run) -> None:
    cli(
        "policy",
        "draft",
        "v1",
        "--summary",
        "Two weeks' notice.",
        "--purpose",
        "train_ai_system",
        "--notice-days",
        "14",
    )
    with session_scope(_engine()) as session:
        assert get_policy(session, "v1").notice_days == 14
    listing = cli("policy", "list").output
    assert "notice days" in listing and " 14 " in listing
    assert "notice 14 days" in cli("policy", "show", "v1").output
    negative = cli(
        "policy", "draft", "v2", "--summary", "s", "--purpose", "x", "--notice-days", "-1", ok=False
    )
    assert negative.exit_code == 2 and "--notice-days" in negative.output


def test_a_version_carries_its_full_text_from_a_markdown_file(cli: Run, tmp_path) -> None:
    text = tmp_path / "v1.md"
    text.write_text("# How we use your posts\n\nOnly with your **yes**.\n", encoding="utf-8")
    cli("policy", "draft", "v1", "--summary", "AI.", "--purpose", "train_ai_system",
        "--text-file", str(text))  # fmt: skip
    with session_scope(_engine()) as session:
        assert get_policy(session, "v1").full_text == text.read_text(encoding="utf-8")
        [draft] = audit_events(session, action="policy.draft")
    assert len(draft.details["full_text_sha256"]) == 64

    latin1 = tmp_path / "v2.md"
    latin1.write_bytes("Caf\xe9".encode("latin-1"))
    refused = cli("policy", "draft", "v2", "--summary", "AI.", "--purpose", "train_ai_system",
                  "--text-file", str(latin1), ok=False)  # fmt: skip
    assert "is not UTF-8 text (byte 3); save it as UTF-8 Markdown" in refused.output

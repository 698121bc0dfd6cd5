"""A license's term has one boundary for every reader: half-open, ``[term_start, term_end)``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from consentry.domain.consent import license_in_force
from consentry.domain.types import CollaboratorFacts, LicenseFacts
from consentry.store.snapshot import Reference

START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2025, 7, 1, tzinfo=UTC)
LICENSE = LicenseFacts("lic", "c", "train_ai_system", term_start=START, term_end=END)
TICK = timedelta(microseconds=1)


def test_the_term_includes_its_start_and_excludes_its_end() -> None:
    assert not license_in_force(LICENSE, START - TICK)
    assert license_in_force(LICENSE, START)
    assert license_in_force(LICENSE, END - TICK)
    assert not license_in_force(LICENSE, END)


def test_an_open_ended_term_and_a_license_not_active() -> None:
    open_ended = LicenseFacts("lic", "c", "train_ai_system", term_start=START)
    assert license_in_force(open_ended, END + timedelta(days=3650))
    suspended = LicenseFacts("lic", "c", "train_ai_system", term_start=START, status="suspended")
    assert not license_in_force(suspended, START)


def test_may_share_asks_the_same_question_at_the_term_end() -> None:
    reference = Reference(
        policies=[],
        collaborators={"c": CollaboratorFacts("c", None)},
        licenses=[LICENSE],
        purposes=frozenset({"train_ai_system"}),
    )
    assert reference.licenses_for("c", "train_ai_system", END - TICK) == [LICENSE]
    assert reference.licenses_for("c", "train_ai_system", END) == []

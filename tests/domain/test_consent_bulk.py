"""The bulk form of the consent rule gives every post the one-at-a-time verdict, on any ledger.

Ledgers are drawn on a coarse time grid (days and half days) so that equal instants, which
decide ties, come up often. The run is derandomized so CI sees the same 200 ledgers every time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from bulk_form import account_table, evaluate_in_bulk, event_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentry.domain import consent_snapshot
from consentry.domain.consent import consent_state_at, evaluate, is_minor_at
from consentry.domain.consent_bulk import MASTER_SWITCH_ONLY
from consentry.domain.purposes import TRAIN_AI_SYSTEM
from consentry.domain.types import (
    AccountFacts,
    CollaboratorFacts,
    ConsentBasis,
    ConsentEventFacts,
    ConsentSource,
    Decision,
    DefaultRule,
    ExclusionReason,
    LicenseFacts,
    LicenseScope,
    PolicyFacts,
    PostFacts,
    PostKind,
    Verdict,
    Visibility,
)

U = TRAIN_AI_SYSTEM
OTHER_PURPOSE = "third_party_sharing"
C, OTHER_C = "collab-a", "collab-b"
# Cut-offs fall around 2026-02-28 / 03-01, where a child born on 2008-02-29 turns 18.
EPOCH = datetime(2026, 2, 10, tzinfo=UTC)
JURISDICTIONS = ["US", "US-CA", "us-ca", "US-TX", "DE", "FR-75", "IE", "GB", "NO", "BR", "JP"]
DEFAULT_KEYS = ["*", "*", "EU", "EEA", "US", "US", "US-CA", "IE", "GB", "FR"]


def days(*offsets: float) -> list[datetime]:
    return [EPOCH + timedelta(days=d) for d in offsets]


# Few distinct instants, so that equal times (ties, boundaries) come up often.
GRID = days(-8, -4, 0, 4, 8, 12, 16, 20, 24)
ADULT = date(1990, 1, 1)
NEAR_18 = [date(2008, 2, 28), date(2008, 2, 29), date(2008, 3, 1), date(2008, 3, 9)]


def one_in(n: int, strategy: st.SearchStrategy, otherwise: object = None) -> st.SearchStrategy:
    """``strategy`` in about one draw of ``n``, else ``otherwise``."""
    hit = st.sampled_from([False] * (n - 1) + [True])
    return hit.flatmap(lambda yes: strategy if yes else st.just(otherwise))


@dataclass(frozen=True)
class Ledger:
    accounts: list[AccountFacts]
    posts: list[PostFacts]
    events: list[ConsentEventFacts]
    policies: list[PolicyFacts]
    license: LicenseFacts
    cutoff: datetime
    as_of: datetime
    collaborator: CollaboratorFacts = field(default_factory=lambda: CollaboratorFacts(C, None))


@st.composite
def ledgers(draw: st.DrawFn) -> Ledger:
    """A small platform; record-level exclusions are kept rare so the consent part is reached."""
    cutoff = draw(st.sampled_from(days(5, 12, 18, 18, 18.5, 19, 19, 24)))
    as_of = cutoff + draw(st.sampled_from([timedelta(0), timedelta(hours=12), timedelta(days=3)]))
    moments = st.sampled_from([*GRID, cutoff, as_of])

    policies = [
        PolicyFacts(
            version=f"v{k}",
            published_at=draw(moments),
            effective_at=draw(moments),
            purposes=draw(st.sampled_from([{U}, {U}, {U, OTHER_PURPOSE}, {OTHER_PURPOSE}])),
            defaults=draw(
                st.dictionaries(
                    st.sampled_from(DEFAULT_KEYS),
                    st.sampled_from([*DefaultRule, DefaultRule.OPT_OUT]),
                    min_size=1,
                    max_size=3,
                )
            ),
            notice_days=draw(st.sampled_from([0, 0, 4, 8])),
        )
        for k in range(1, draw(st.sampled_from([0, 1, 1, 2, 2, 3])) + 1)
    ]
    in_force = [p.effective_at for p in policies if p.effective_at <= cutoff]
    created = st.sampled_from([*GRID[:6], cutoff, *in_force * 3])
    # Deletions land on the export's own instant often: "deleted by then" includes it.
    deletions = st.sampled_from([as_of, as_of, *GRID])

    accounts = [
        AccountFacts(
            id=f"a{i}",
            jurisdiction=draw(st.sampled_from(JURISDICTIONS)),
            protected=draw(one_in(10, st.just(True), False)),
            birth_date=draw(one_in(3, st.sampled_from([None, *NEAR_18]), ADULT)),
            is_minor=draw(one_in(6, st.booleans())),
            deleted_at=draw(one_in(8, deletions)),
        )
        for i in range(draw(st.integers(1, 4)))
    ]
    posts = [
        PostFacts(
            id=f"{account.id}-p{j}",
            account_id=account.id,
            created_at=draw(created),
            visibility=draw(one_in(6, st.sampled_from(Visibility), Visibility.PUBLIC)),
            lang=draw(st.sampled_from(["en", "en", "de", None])),
            reply_to="parent" if kind == PostKind.REPLY else None,
            deleted_at=draw(one_in(8, deletions)),
            kind=kind,
            original_id="original" if kind in (PostKind.REPOST, PostKind.QUOTE) else None,
        )
        for account in accounts
        for j in range(draw(st.integers(2, 6)))
        for kind in [draw(st.sampled_from([PostKind.POST, PostKind.POST, *PostKind]))]
    ]
    n_events = draw(st.sampled_from([0, 1, 2, 4, 6, 10]))
    events = [
        ConsentEventFacts(
            id=event_id,
            account_id=draw(st.sampled_from([a.id for a in accounts] * 3 + ["ghost"])),
            purpose=draw(one_in(5, st.just(OTHER_PURPOSE), U)),
            collaborator_id=draw(st.sampled_from([None, None, C, C, OTHER_C])),
            decision=draw(st.sampled_from(Decision)),
            effective_at=(effective := draw(moments)),
            recorded_at=draw(one_in(2, moments, effective)),
            source=draw(st.sampled_from(ConsentSource)),
        )
        # Ids are ledger order; the list order is shuffled so nothing may rely on it.
        for event_id in draw(st.permutations(range(1, n_events + 1)))
    ]
    scope = LicenseScope(
        kinds=frozenset(
            draw(one_in(3, st.sampled_from([(), *((k,) for k in PostKind)]), PostKind))
        ),
        created_from=draw(one_in(8, moments)),
        created_until=draw(one_in(8, moments)),
        languages=draw(one_in(8, st.frozensets(st.sampled_from(["en", "de", "fr"]), min_size=1))),
        public_only=draw(st.sampled_from([True, True, False])),
        include_pre_policy_posts=draw(st.booleans()),
    )
    license = LicenseFacts("lic", C, U, scope)
    collaborator = CollaboratorFacts(C, draw(one_in(2, moments)))
    return Ledger(accounts, posts, events, policies, license, cutoff, as_of, collaborator)


def snapshot_row_of(ledger: Ledger, account: AccountFacts) -> dict[str, object]:
    """What ``account_snapshot`` should say of one account, from the one-at-a-time functions."""
    row: dict[str, object] = {
        "account_id": account.id,
        "jurisdiction": account.jurisdiction,
        "deleted": account.deleted_at is not None and account.deleted_at <= ledger.as_of,
        "minor": is_minor_at(account, ledger.cutoff) or is_minor_at(account, ledger.as_of),
        "protected": account.protected,
    }
    for suffix, moment in (("t", ledger.cutoff), ("now", ledger.as_of)):
        state = consent_state_at(
            account,
            ledger.events,
            ledger.policies,
            purpose=U,
            collaborator_id=ledger.collaborator.id,
            listed_at=ledger.collaborator.listed_at,
            moment=moment,
            as_of=ledger.as_of,
        )
        row[f"reason_{suffix}"] = state.reason.value if state.reason else None
        row[f"event_{suffix}"] = state.basis.event_id
        row[f"version_{suffix}"] = state.basis.policy_version
        row[f"default_{suffix}"] = state.basis.default.value if state.basis.default else None
        row[f"opt_out_since_{suffix}"] = state.opt_out_since
    return row


@pytest.mark.slow
@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ledgers())
def test_bulk_verdict_and_basis_equal_one_at_a_time_for_every_post(ledger: Ledger) -> None:
    by_id = {a.id: a for a in ledger.accounts}
    expected = {
        post.id: evaluate(
            post,
            by_id[post.account_id],
            ledger.events,
            ledger.policies,
            ledger.license,
            collaborator=ledger.collaborator,
            cutoff=ledger.cutoff,
            as_of=ledger.as_of,
        )
        for post in ledger.posts
    }
    snap, got = evaluate_in_bulk(
        ledger.posts,
        ledger.accounts,
        ledger.events,
        ledger.policies,
        ledger.license,
        collaborator=ledger.collaborator,
        cutoff=ledger.cutoff,
        as_of=ledger.as_of,
    )
    assert got == expected
    rows = sorted(snap.to_pylist(), key=lambda r: r["account_id"])
    assert rows == [snapshot_row_of(ledger, a) for a in ledger.accounts]


@pytest.mark.slow
@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(ledgers())
def test_snapshots_over_time_equal_one_at_a_time_at_each_moment(ledger: Ledger) -> None:
    """The consent report's path: the events matched once, then a snapshot at each moment
    (cut-off and ledger both at it), for one collaborator and for the master switch alone."""
    moments = sorted({*GRID, ledger.cutoff, ledger.as_of})
    for collaborator in (ledger.collaborator, CollaboratorFacts(MASTER_SWITCH_ONLY, None)):
        snapshots = consent_snapshot.snapshots_over_time(
            account_table(ledger.accounts),
            event_table(ledger.events),
            ledger.policies,
            purpose=U,
            collaborator_id=collaborator.id,
            listed_at=collaborator.listed_at,
            moments=moments,
        )
        for moment, snapshot in zip(moments, snapshots, strict=True):
            at = replace(ledger, cutoff=moment, as_of=moment, collaborator=collaborator)
            assert snapshot.to_pylist() == [snapshot_row_of(at, a) for a in ledger.accounts]


def _one_post_ledger(scope: LicenseScope, account: AccountFacts, cutoff: datetime) -> Ledger:
    policy = PolicyFacts(
        "v2",
        datetime(2024, 10, 16, tzinfo=UTC),
        datetime(2024, 11, 15, tzinfo=UTC),
        frozenset({U}),
        {"US": DefaultRule.OPT_OUT},
    )
    post = PostFacts("p", account.id, datetime(2024, 11, 20, tzinfo=UTC))
    license = LicenseFacts("lic", C, U, scope)
    return Ledger([account], [post], [], [policy], license, cutoff, cutoff)


def _both_forms(ledger: Ledger) -> tuple[object, object]:
    post, account = ledger.posts[0], ledger.accounts[0]
    single = evaluate(
        post,
        account,
        [],
        ledger.policies,
        ledger.license,
        collaborator=ledger.collaborator,
        cutoff=ledger.cutoff,
        as_of=ledger.as_of,
    )
    _, verdicts = evaluate_in_bulk(
        ledger.posts,
        ledger.accounts,
        [],
        ledger.policies,
        ledger.license,
        collaborator=ledger.collaborator,
        cutoff=ledger.cutoff,
        as_of=ledger.as_of,
    )
    return single, verdicts[post.id]


def test_a_license_with_no_kinds_delivers_nothing_in_either_form() -> None:
    """Regression: bulk once rendered no kinds as ``IN (NULL)``, which excluded nothing."""
    ledger = _one_post_ledger(
        LicenseScope(kinds=frozenset()),
        AccountFacts("a", "US"),
        datetime(2025, 1, 15, tzinfo=UTC),
    )
    single, bulk = _both_forms(ledger)
    assert single.reason == bulk.reason == "out_of_scope"


def test_age_at_the_cutoff_is_judged_on_the_utc_day_in_both_forms() -> None:
    """Regression: the one-at-a-time form once took the day in the cut-off's own zone."""
    # 2025-11-15 23:30 at UTC-5 is 2025-11-16 04:30 UTC: the account's 18th birthday.
    cutoff = datetime(2025, 11, 15, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    ledger = _one_post_ledger(
        LicenseScope(), AccountFacts("a", "US", birth_date=date(2007, 11, 16)), cutoff
    )
    single, bulk = _both_forms(ledger)
    assert single == bulk
    assert single.allowed


def test_a_post_whose_account_is_unknown_is_excluded_as_deleted_in_bulk() -> None:
    """Only the bulk form can meet this (an account row gone from the store): nothing leaks."""
    ledger = _one_post_ledger(
        LicenseScope(), AccountFacts("a", "US"), datetime(2025, 1, 15, tzinfo=UTC)
    )
    orphan = PostFacts("orphan", "nobody", datetime(2024, 12, 1, tzinfo=UTC))
    _, verdicts = evaluate_in_bulk(
        [*ledger.posts, orphan],
        ledger.accounts,
        [],
        ledger.policies,
        ledger.license,
        collaborator=ledger.collaborator,
        cutoff=ledger.cutoff,
        as_of=ledger.as_of,
    )
    assert verdicts["p"].allowed
    assert verdicts["orphan"] == Verdict(False, ExclusionReason.DELETED, ConsentBasis())

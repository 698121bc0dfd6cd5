"""The consent rule of DESIGN.md, one branch per row, checked in both forms.

Unless a row says otherwise: account ``acc`` in US-TX, an adult, not protected; one public post
created 2024-12-01; policy v2 (published 2024-10-16, effective 2024-11-15) makes
``train_ai_system`` opt_out in the US and opt_in in the EU and the UK; license for collaborator
``collab-a`` with the default scope; cut-off 2025-01-15 12:00 UTC; the export runs 2025-02-01.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import pytest
from bulk_form import evaluate_in_bulk

from consentry.domain.consent import evaluate
from consentry.domain.purposes import TRAIN_AI_SYSTEM
from consentry.domain.types import (
    ALL_COLLABORATORS,
    REASON_ORDER,
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
C = "collab-a"
OTHER_C = "collab-b"
OPT_IN, OPT_OUT, NEVER = DefaultRule.OPT_IN, DefaultRule.OPT_OUT, DefaultRule.NEVER
ALLOW, DENY = Decision.ALLOW, Decision.DENY
R = ExclusionReason


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


PUBLISHED, EFFECTIVE = at("2024-10-16"), at("2024-11-15")
CUTOFF, EXPORT = at("2025-01-15T12:00"), at("2025-02-01")


def policy(
    version: str,
    defaults: dict[str, DefaultRule],
    *,
    published: datetime = PUBLISHED,
    effective: datetime = EFFECTIVE,
    purposes: frozenset[str] = frozenset({U}),
    notice_days: int = 0,
) -> PolicyFacts:
    return PolicyFacts(version, published, effective, purposes, defaults, notice_days)


V2 = policy("v2", {"US": OPT_OUT, "EU": OPT_IN, "GB": OPT_IN})
ACCOUNT = AccountFacts("acc", "US-TX", birth_date=date(1990, 5, 1))
LISTED = at("2024-01-01")
"""When users were first shown collaborator ``collab-a``, unless a row says otherwise."""
POST = PostFacts("post", "acc", created_at=at("2024-12-01"), lang="en")


def event(
    id: int,
    decision: Decision,
    effective: str,
    *,
    recorded: str | None = None,
    collaborator: str | None = ALL_COLLABORATORS,
    purpose: str = U,
    source: ConsentSource = ConsentSource.SETTINGS,
    account: str = "acc",
) -> ConsentEventFacts:
    return ConsentEventFacts(
        id,
        account,
        purpose,
        collaborator,
        decision,
        at(effective),
        at(recorded or effective),
        source,
    )


@dataclass(frozen=True)
class Facts:
    """Everything the rule reads for one post."""

    post: PostFacts = POST
    account: AccountFacts = ACCOUNT
    events: tuple[ConsentEventFacts, ...] = ()
    policies: tuple[PolicyFacts, ...] = (V2,)
    scope: LicenseScope = field(default_factory=LicenseScope)
    cutoff: datetime = CUTOFF
    as_of: datetime = EXPORT
    listed_at: datetime | None = LISTED

    @property
    def license(self) -> LicenseFacts:
        return LicenseFacts("lic", C, U, self.scope)

    @property
    def collaborator(self) -> CollaboratorFacts:
        return CollaboratorFacts(C, self.listed_at)


def delivered(basis: ConsentBasis) -> Verdict:
    return Verdict(True, None, basis)


def excluded(reason: ExclusionReason, basis: ConsentBasis = ConsentBasis()) -> Verdict:
    return Verdict(False, reason, basis)


def by_event(event_id: int) -> ConsentBasis:
    return ConsentBasis(event_id=event_id)


def by_default(version: str, default: DefaultRule) -> ConsentBasis:
    return ConsentBasis(policy_version=version, default=default)


US_DEFAULT = by_default("v2", OPT_OUT)
EU_DEFAULT = by_default("v2", OPT_IN)


def case(id: str, expected: Verdict, **changes: object) -> object:
    """A row: ``post``/``account`` changes are keyword dicts applied to the defaults."""
    post = replace(POST, **changes.pop("post", {}))
    account = replace(ACCOUNT, **changes.pop("account", {}))
    return pytest.param(Facts(post=post, account=account, **changes), expected, id=id)


DE, GB, BR = {"jurisdiction": "DE"}, {"jurisdiction": "GB"}, {"jurisdiction": "BR"}
MINOR = {"birth_date": date(2007, 6, 1)}
PRE_POLICY = {"created_at": at("2024-11-01")}
REPLY = {"reply_to": "post-0", "kind": PostKind.REPLY}
REPOST = {"kind": PostKind.REPOST, "original_id": "post-0"}
QUOTE = {"kind": PostKind.QUOTE, "original_id": "post-0"}
FEB29 = {"birth_date": date(2008, 2, 29)}
V3_US_OPT_IN_FROM_JAN20 = policy(
    "v3", {"US": OPT_IN}, published=at("2025-01-01"), effective=at("2025-01-20")
)

RECORD_CHECKS = [
    case("baseline-us-opt-out-default-delivers", delivered(US_DEFAULT)),
    case("direct-message", excluded(R.DIRECT_MESSAGE), post={"visibility": Visibility.DIRECT}),
    case(
        "direct-message-even-with-explicit-allow",
        excluded(R.DIRECT_MESSAGE),
        post={"visibility": Visibility.DIRECT},
        events=(event(1, ALLOW, "2024-12-05"),),
    ),
    case("protected-account", excluded(R.PROTECTED), account={"protected": True}),
    case("minor-17-at-the-cutoff", excluded(R.MINOR), account=MINOR),
    case(
        "minor-turning-18-on-the-cutoff-day-is-adult",
        delivered(US_DEFAULT),
        account={"birth_date": date(2007, 1, 15)},
    ),
    case(
        "minor-turning-18-the-day-after-the-cutoff-though-adult-at-export",
        excluded(R.MINOR),
        account={"birth_date": date(2007, 1, 16)},
    ),
    case(
        "minor-feb29-birthday-still-17-on-feb28-of-a-common-year",
        excluded(R.MINOR),
        account=FEB29,
        cutoff=at("2026-02-28T23:59"),
        as_of=at("2026-02-28T23:59"),
    ),
    case(
        "minor-feb29-birthday-18-on-mar1-of-a-common-year",
        delivered(US_DEFAULT),
        account=FEB29,
        cutoff=at("2026-03-01"),
        as_of=at("2026-03-01"),
    ),
    case(
        "minor-flag-without-birth-date",
        excluded(R.MINOR),
        account={"birth_date": None, "is_minor": True},
    ),
    case(
        "adult-flag-without-birth-date",
        delivered(US_DEFAULT),
        account={"birth_date": None, "is_minor": False},
    ),
    case(
        "no-age-information-counts-as-adult",
        delivered(US_DEFAULT),
        account={"birth_date": None, "is_minor": None},
    ),
    case(
        "birth-date-wins-over-minor-flag",
        delivered(US_DEFAULT),
        account={"is_minor": True},
    ),
    case("post-deleted-before-cutoff", excluded(R.DELETED), post={"deleted_at": at("2024-12-20")}),
    case(
        "post-deleted-after-cutoff-before-export",
        excluded(R.DELETED),
        post={"deleted_at": at("2025-01-20")},
    ),
    case("post-deleted-as-the-export-runs", excluded(R.DELETED), post={"deleted_at": EXPORT}),
    case(
        "post-deleted-after-export-is-not-deleted",
        delivered(US_DEFAULT),
        post={"deleted_at": at("2025-02-02")},
    ),
    case(
        "account-deleted-before-export",
        excluded(R.DELETED),
        account={"deleted_at": at("2025-01-20")},
    ),
    case(
        "account-deleted-after-export-is-not-deleted",
        delivered(US_DEFAULT),
        account={"deleted_at": at("2025-02-10")},
    ),
]

SCOPE = [
    case(
        "scope-reply-outside-posts-only-license",
        excluded(R.OUT_OF_SCOPE),
        post=REPLY,
        scope=LicenseScope(kinds=frozenset({PostKind.POST})),
    ),
    case(
        "scope-post-outside-replies-only-license",
        excluded(R.OUT_OF_SCOPE),
        scope=LicenseScope(kinds=frozenset({PostKind.REPLY})),
    ),
    case("scope-reply-inside-default-kinds", delivered(US_DEFAULT), post=REPLY),
    case(
        "scope-created-before-window",
        excluded(R.OUT_OF_SCOPE),
        scope=LicenseScope(created_from=at("2024-12-10")),
    ),
    case(
        "scope-created-at-window-start-is-in",
        delivered(US_DEFAULT),
        scope=LicenseScope(created_from=at("2024-12-01")),
    ),
    case(
        "scope-created-at-window-end-is-out",
        excluded(R.OUT_OF_SCOPE),
        scope=LicenseScope(created_until=at("2024-12-01")),
    ),
    case(
        "scope-language-not-licensed",
        excluded(R.OUT_OF_SCOPE),
        scope=LicenseScope(languages=frozenset({"de"})),
    ),
    case(
        "scope-unknown-language-under-language-filter",
        excluded(R.OUT_OF_SCOPE),
        post={"lang": None},
        scope=LicenseScope(languages=frozenset({"en"})),
    ),
    case(
        "scope-licensed-language",
        delivered(US_DEFAULT),
        scope=LicenseScope(languages=frozenset({"en", "de"})),
    ),
    case(
        "scope-protected-visibility-post-under-public-only",
        excluded(R.OUT_OF_SCOPE),
        post={"visibility": Visibility.PROTECTED},
    ),
    case(
        "scope-protected-visibility-post-when-not-public-only",
        delivered(US_DEFAULT),
        post={"visibility": Visibility.PROTECTED},
        scope=LicenseScope(public_only=False),
    ),
    case(
        "scope-created-after-cutoff-before-export",
        excluded(R.OUT_OF_SCOPE),
        post={"created_at": at("2025-01-20")},
    ),
    case(
        "scope-created-exactly-at-cutoff-is-in", delivered(US_DEFAULT), post={"created_at": CUTOFF}
    ),
]

CHOICES = [
    case(
        "choice-master-switch-on-in-opt-in-jurisdiction",
        delivered(by_event(1)),
        account=DE,
        events=(event(1, ALLOW, "2024-12-05"),),
    ),
    case(
        "choice-allow-for-this-collaborator",
        delivered(by_event(1)),
        account=DE,
        events=(event(1, ALLOW, "2024-12-05", collaborator=C),),
    ),
    case(
        "choice-master-off-after-collaborator-allow-stops-it",
        excluded(R.DENIED, by_event(2)),
        account=DE,
        events=(event(1, ALLOW, "2024-12-01", collaborator=C), event(2, DENY, "2024-12-10")),
    ),
    case(
        "choice-collaborator-allow-after-master-off-allows-it",
        delivered(by_event(2)),
        events=(event(1, DENY, "2024-12-01"), event(2, ALLOW, "2024-12-10", collaborator=C)),
    ),
    case(
        "choice-same-instant-master-off-later-in-ledger-wins",
        excluded(R.DENIED, by_event(2)),
        account=DE,
        events=(event(1, ALLOW, "2024-12-10", collaborator=C), event(2, DENY, "2024-12-10")),
    ),
    case(
        "choice-same-instant-collaborator-allow-later-in-ledger-wins",
        delivered(by_event(2)),
        events=(event(1, DENY, "2024-12-10"), event(2, ALLOW, "2024-12-10", collaborator=C)),
    ),
    case(
        "choice-same-instant-ledger-order-not-list-order",
        excluded(R.DENIED, by_event(2)),
        account=DE,
        events=(event(2, DENY, "2024-12-10"), event(1, ALLOW, "2024-12-10", collaborator=C)),
    ),
    case(
        "choice-latest-effective-wins-over-backdated-later-entry",
        delivered(by_event(1)),
        account=DE,
        events=(
            event(1, ALLOW, "2024-12-10"),
            event(2, DENY, "2024-12-01", recorded="2024-12-11"),
        ),
    ),
    case(
        "choice-allow-for-another-collaborator-does-not-count",
        excluded(R.NO_CONSENT, EU_DEFAULT),
        account=DE,
        events=(event(1, ALLOW, "2024-12-05", collaborator=OTHER_C),),
    ),
    case(
        "choice-deny-for-another-collaborator-does-not-count",
        delivered(US_DEFAULT),
        events=(event(1, DENY, "2024-12-05", collaborator=OTHER_C),),
    ),
    case(
        "choice-for-another-purpose-does-not-count",
        delivered(US_DEFAULT),
        events=(event(1, DENY, "2024-12-05", purpose="third_party_sharing"),),
    ),
    case(
        "choice-of-another-account-does-not-count",
        delivered(US_DEFAULT),
        events=(event(1, DENY, "2024-12-05", account="someone-else"),),
    ),
    case(
        "deny-for-this-collaborator",
        excluded(R.DENIED, by_event(1)),
        events=(event(1, DENY, "2024-12-05", collaborator=C),),
    ),
    case(
        "deny-master-switch-off",
        excluded(R.DENIED, by_event(1)),
        events=(event(1, DENY, "2024-12-05"),),
    ),
    case(
        "deny-effective-exactly-at-cutoff",
        excluded(R.DENIED, by_event(1)),
        events=(event(1, DENY, "2025-01-15T12:00"),),
    ),
    case(
        "gpc-signal-denies-all-collaborators",
        excluded(R.DENIED, by_event(1)),
        events=(event(1, DENY, "2024-12-05", source=ConsentSource.GPC),),
    ),
    case(
        "gpc-then-collaborator-allow-allows-that-one",
        delivered(by_event(2)),
        events=(
            event(1, DENY, "2024-12-05", source=ConsentSource.GPC),
            event(2, ALLOW, "2024-12-20", collaborator=C),
        ),
    ),
]

DEFAULTS = [
    case("default-eu-member-opt-in", excluded(R.NO_CONSENT, EU_DEFAULT), account=DE),
    case("default-uk-opt-in", excluded(R.NO_CONSENT, EU_DEFAULT), account=GB),
    case(
        "default-no-matching-key-counts-as-opt-in", excluded(R.NO_CONSENT, EU_DEFAULT), account=BR
    ),
    case(
        "default-never",
        excluded(R.NO_CONSENT, by_default("v2", NEVER)),
        policies=(policy("v2", {"US": NEVER}),),
    ),
    case(
        "default-subdivision-beats-country",
        excluded(R.NO_CONSENT, EU_DEFAULT),
        account={"jurisdiction": "US-CA"},
        policies=(policy("v2", {"US": OPT_OUT, "US-CA": OPT_IN}),),
    ),
    case(
        "default-country-covers-other-subdivisions",
        delivered(US_DEFAULT),
        account={"jurisdiction": "US-NY"},
        policies=(policy("v2", {"US": OPT_OUT, "US-CA": OPT_IN}),),
    ),
    case(
        "default-subdivision-opt-out-beats-country-opt-in",
        delivered(US_DEFAULT),
        account={"jurisdiction": "US-CA"},
        policies=(policy("v2", {"US": OPT_IN, "US-CA": OPT_OUT}),),
    ),
    case(
        "default-country-beats-its-group",
        delivered(US_DEFAULT),
        account={"jurisdiction": "IE"},
        policies=(policy("v2", {"EU": OPT_IN, "IE": OPT_OUT}),),
    ),
    case(
        "default-group-beats-wildcard",
        excluded(R.NO_CONSENT, EU_DEFAULT),
        account={"jurisdiction": "FR"},
        policies=(policy("v2", {"*": OPT_OUT, "EU": OPT_IN}),),
    ),
    case(
        "default-wildcard-when-nothing-more-specific",
        delivered(US_DEFAULT),
        account=BR,
        policies=(policy("v2", {"*": OPT_OUT, "EU": OPT_IN}),),
    ),
    case(
        "default-eea-group-covers-norway",
        excluded(R.NO_CONSENT, by_default("v2", NEVER)),
        account={"jurisdiction": "NO"},
        policies=(policy("v2", {"*": OPT_OUT, "EEA": NEVER}),),
    ),
]

POLICIES = [
    case("no-policy-at-all", excluded(R.NO_POLICY), policies=()),
    case(
        "no-policy-published-but-effective-after-export",
        excluded(R.NO_POLICY),
        policies=(policy("v2", {"US": OPT_OUT}, effective=at("2025-03-01")),),
    ),
    case(
        "no-policy-at-cutoff-effective-before-export",
        excluded(R.NO_POLICY),
        policies=(policy("v2", {"US": OPT_OUT}, effective=at("2025-01-20")),),
        scope=LicenseScope(include_pre_policy_posts=True),
    ),
    case(
        "no-policy-for-this-purpose",
        excluded(R.NO_POLICY),
        policies=(policy("v2", {"US": OPT_OUT}, purposes=frozenset({"third_party_sharing"})),),
    ),
    case(
        "explicit-allow-needs-no-policy",
        delivered(by_event(1)),
        policies=(),
        events=(event(1, ALLOW, "2024-12-05"),),
    ),
    case(
        "draft-unpublished-at-export-is-ignored",
        delivered(US_DEFAULT),
        policies=(
            V2,
            policy("v3", {"US": OPT_IN}, published=at("2025-02-10"), effective=at("2024-12-01")),
        ),
    ),
    case(
        "version-published-after-cutoff-before-export-counts",
        excluded(R.NO_CONSENT, by_default("v3", OPT_IN)),
        policies=(
            V2,
            policy("v3", {"US": OPT_IN}, published=at("2025-01-20"), effective=at("2025-01-01")),
        ),
    ),
    case(
        "newer-version-in-force-replaces-older",
        excluded(R.NO_CONSENT, by_default("v3", OPT_IN)),
        policies=(
            policy("v3", {"US": OPT_IN}, published=at("2024-12-01"), effective=at("2025-01-01")),
            V2,
        ),
    ),
    case(
        "version-in-force-at-export-but-not-cutoff-excludes",
        excluded(R.NO_CONSENT, by_default("v3", OPT_IN)),
        policies=(V2, V3_US_OPT_IN_FROM_JAN20),
    ),
    case(
        "opt-out-version-after-cutoff-does-not-reach-back",
        excluded(R.NO_CONSENT, by_default("v2", OPT_IN)),
        policies=(
            policy("v2", {"US": OPT_IN}),
            policy("v3", {"US": OPT_OUT}, published=at("2025-01-01"), effective=at("2025-01-20")),
        ),
    ),
]

BEFORE_POLICY = [
    case(
        "before-policy-opt-out-misses-older-posts",
        excluded(R.BEFORE_POLICY, US_DEFAULT),
        post=PRE_POLICY,
    ),
    case(
        "before-policy-post-at-effective-time-is-covered",
        delivered(US_DEFAULT),
        post={"created_at": EFFECTIVE},
    ),
    case(
        "before-policy-license-including-pre-policy-posts",
        delivered(US_DEFAULT),
        post=PRE_POLICY,
        scope=LicenseScope(include_pre_policy_posts=True),
    ),
    case(
        "before-policy-explicit-allow-covers-older-posts",
        delivered(by_event(1)),
        post=PRE_POLICY,
        events=(event(1, ALLOW, "2024-12-05"),),
    ),
    case(
        "before-policy-opt-in-jurisdiction-is-no-consent",
        excluded(R.NO_CONSENT, EU_DEFAULT),
        post=PRE_POLICY,
        account=DE,
    ),
    case(
        "before-policy-first-opt-out-version-sets-boundary",
        delivered(US_DEFAULT),
        post={"created_at": at("2024-08-01")},
        policies=(
            policy("v1", {"US": OPT_OUT}, published=at("2024-05-01"), effective=at("2024-06-01")),
            V2,
        ),
    ),
    case(
        "before-policy-earlier-opt-in-version-does-not-move-boundary",
        excluded(R.BEFORE_POLICY, US_DEFAULT),
        post={"created_at": at("2024-08-01")},
        policies=(
            policy("v1", {"US": OPT_IN}, published=at("2024-05-01"), effective=at("2024-06-01")),
            V2,
        ),
    ),
    case(
        "before-policy-boundary-is-per-jurisdiction",
        delivered(US_DEFAULT),
        account={"jurisdiction": "US-CA"},
        post={"created_at": at("2024-08-01")},
        policies=(
            policy(
                "v1",
                {"US": OPT_IN, "US-CA": OPT_OUT},
                published=at("2024-05-01"),
                effective=at("2024-06-01"),
            ),
            V2,
        ),
    ),
    case(
        # The first opt-out version counts even when an opt-in version came between: a post
        # written under that opt-in version is covered once opt-out returns.
        "before-policy-boundary-is-the-first-opt-out-across-an-opt-in-interval",
        delivered(by_default("v3", OPT_OUT)),
        post={"created_at": at("2024-09-01")},
        policies=(
            policy("v1", {"US": OPT_OUT}, published=at("2024-05-01"), effective=at("2024-06-01")),
            policy("v2", {"US": OPT_IN}, published=at("2024-07-01"), effective=at("2024-08-01")),
            policy("v3", {"US": OPT_OUT}),
        ),
    ),
]

LEDGER_TIME = [
    case(
        "deny-dated-after-cutoff-recorded-before-export-excludes",
        excluded(R.DENIED, by_event(1)),
        events=(event(1, DENY, "2025-01-20"),),
    ),
    case(
        "deny-recorded-after-export-is-ignored",
        delivered(US_DEFAULT),
        events=(event(1, DENY, "2025-01-10", recorded="2025-02-05"),),
    ),
    case(
        "allow-recorded-after-export-is-ignored",
        excluded(R.NO_CONSENT, EU_DEFAULT),
        account=DE,
        events=(event(1, ALLOW, "2025-01-10", recorded="2025-02-05"),),
    ),
    case(
        "allow-given-after-cutoff-does-not-reach-back",
        excluded(R.NO_CONSENT, EU_DEFAULT),
        account=DE,
        events=(event(1, ALLOW, "2025-01-20"),),
    ),
    case(
        "deny-effective-after-export-is-not-yet-in-effect",
        delivered(US_DEFAULT),
        events=(event(1, DENY, "2025-02-10", recorded="2025-01-10"),),
    ),
    case(
        "collaborator-allow-withdrawn-after-cutoff",
        excluded(R.DENIED, by_event(2)),
        account=DE,
        events=(
            event(1, ALLOW, "2024-12-01", collaborator=C),
            event(2, DENY, "2025-01-20", collaborator=C),
        ),
    ),
]

PRECEDENCE = [
    case(
        "first-reason-direct-message-of-deleted-protected-minor",
        excluded(R.DIRECT_MESSAGE),
        post={"visibility": Visibility.DIRECT, "deleted_at": at("2024-12-02")},
        account={**MINOR, "protected": True, "deleted_at": at("2024-12-03")},
        events=(event(1, DENY, "2024-12-05"),),
    ),
    case(
        "first-reason-deleted-beats-minor-and-protected",
        excluded(R.DELETED),
        post={"deleted_at": at("2024-12-02")},
        account={**MINOR, "protected": True},
    ),
    case(
        "first-reason-minor-beats-protected",
        excluded(R.MINOR),
        account={**MINOR, "protected": True},
    ),
    case(
        "first-reason-protected-beats-out-of-scope",
        excluded(R.PROTECTED),
        account={"protected": True},
        post=REPLY,
        scope=LicenseScope(kinds=frozenset({PostKind.POST})),
    ),
    case(
        "first-reason-out-of-scope-beats-deny",
        excluded(R.OUT_OF_SCOPE),
        post={"lang": "de"},
        scope=LicenseScope(languages=frozenset({"en"})),
        events=(event(1, DENY, "2024-12-05"),),
    ),
    case(
        "first-reason-denied-at-export-beats-no-consent-at-cutoff",
        excluded(R.DENIED, by_event(1)),
        account=DE,
        events=(event(1, DENY, "2025-01-20"),),
    ),
    case(
        "first-reason-denied-at-cutoff-beats-allow-at-export",
        excluded(R.DENIED, by_event(1)),
        events=(event(1, DENY, "2024-12-01"), event(2, ALLOW, "2025-01-20")),
    ),
    case(
        "first-reason-no-policy-at-cutoff-beats-before-policy-at-export",
        excluded(R.NO_POLICY),
        policies=(
            policy("v2", {"US": OPT_OUT}, published=at("2024-12-20"), effective=at("2025-01-20")),
        ),
    ),
    case(
        "first-reason-no-consent-at-export-beats-before-policy-at-cutoff",
        excluded(R.NO_CONSENT, by_default("v3", OPT_IN)),
        post=PRE_POLICY,
        policies=(V2, V3_US_OPT_IN_FROM_JAN20),
    ),
]

POLICY_TIMING = [
    # Each row fails one mutation of the rule that the rows above let pass.
    case(
        # Publication is judged at the moment the ledger is read (as-of), not at the cut-off.
        "timing-version-published-after-cutoff-counts-at-the-cutoff",
        delivered(by_default("v3", OPT_OUT)),
        post={"created_at": at("2025-01-05")},
        policies=(
            policy("v2", {"US": OPT_IN}),
            policy("v3", {"US": OPT_OUT}, published=at("2025-01-20"), effective=at("2025-01-01")),
        ),
    ),
    case(
        "timing-version-effective-exactly-at-the-cutoff-is-in-force",
        excluded(R.NO_CONSENT, by_default("v3", OPT_IN)),
        cutoff=CUTOFF,
        as_of=CUTOFF,
        policies=(V2, policy("v3", {"US": OPT_IN}, published=at("2025-01-01"), effective=CUTOFF)),
    ),
    case(
        "timing-in-force-is-the-last-effective-not-the-last-published",
        excluded(R.NO_CONSENT, by_default("v4", OPT_IN)),
        policies=(
            policy("v4", {"US": OPT_IN}, published=at("2024-12-01"), effective=at("2025-01-01")),
            policy("v3", {"US": OPT_OUT}, published=at("2024-12-10"), effective=at("2024-12-15")),
        ),
    ),
]

LISTED_LATE = at("2024-12-20")
INFORMED = [
    # Rule 6: a master allow covers a collaborator listed by then; an opt-out default covers a
    # new collaborator only once the policy's notice period since its listing has passed.
    case(
        "informed-master-allow-before-listing-is-no-choice-under-opt-in",
        excluded(R.NO_CONSENT, EU_DEFAULT),
        account=DE,
        events=(event(1, ALLOW, "2024-12-05"),),
        listed_at=LISTED_LATE,
    ),
    case(
        "informed-master-allow-before-listing-leaves-the-opt-out-default",
        delivered(US_DEFAULT),
        events=(event(1, ALLOW, "2024-12-05"),),
        listed_at=LISTED_LATE,
    ),
    case(
        "informed-master-allow-at-the-listing-covers-it",
        delivered(by_event(1)),
        account=DE,
        events=(event(1, ALLOW, "2024-12-20"),),
        listed_at=LISTED_LATE,
    ),
    case(
        "informed-master-allow-after-listing-covers-it",
        delivered(by_event(1)),
        account=DE,
        events=(event(1, ALLOW, "2024-12-21"),),
        listed_at=LISTED_LATE,
    ),
    case(
        "informed-master-deny-before-listing-still-denies",
        excluded(R.DENIED, by_event(1)),
        events=(event(1, DENY, "2024-06-01"),),
        listed_at=LISTED_LATE,
    ),
    case(
        "informed-stale-master-allow-hides-an-older-deny-no-choice-remains",
        excluded(R.NO_CONSENT, EU_DEFAULT),
        account=DE,
        events=(event(1, DENY, "2024-06-01"), event(2, ALLOW, "2024-12-05")),
        listed_at=LISTED_LATE,
    ),
    case(
        "informed-own-switch-after-stale-master-allow-counts",
        delivered(by_event(2)),
        account=DE,
        events=(event(1, ALLOW, "2024-12-05"), event(2, ALLOW, "2024-12-22", collaborator=C)),
        listed_at=LISTED_LATE,
    ),
    case(
        "informed-opt-out-default-waits-for-the-notice-period",
        excluded(R.NO_CONSENT, US_DEFAULT),
        listed_at=at("2025-01-10"),
        policies=(policy("v2", {"US": OPT_OUT}, notice_days=30),),
    ),
    case(
        "informed-opt-out-default-covers-once-the-notice-period-ends-at-the-cutoff",
        delivered(US_DEFAULT),
        listed_at=at("2024-12-16T12:00"),
        policies=(policy("v2", {"US": OPT_OUT}, notice_days=30),),
    ),
    case(
        "informed-notice-ending-between-cutoff-and-export-still-excludes",
        excluded(R.NO_CONSENT, US_DEFAULT),
        listed_at=at("2024-12-20"),
        policies=(policy("v2", {"US": OPT_OUT}, notice_days=30),),
    ),
    case(
        "informed-notice-period-does-not-delay-an-explicit-allow",
        delivered(by_event(1)),
        events=(event(1, ALLOW, "2025-01-12", collaborator=C),),
        listed_at=at("2025-01-10"),
        policies=(policy("v2", {"US": OPT_OUT}, notice_days=30),),
    ),
]

KINDS = [
    case("kind-repost-is-never-licensable", excluded(R.OUT_OF_SCOPE), post=REPOST),
    case(
        "kind-repost-even-with-explicit-allow-and-a-license-naming-reposts",
        excluded(R.OUT_OF_SCOPE),
        post=REPOST,
        events=(event(1, ALLOW, "2024-12-05"),),
        scope=LicenseScope(kinds=frozenset(PostKind)),
    ),
    case("kind-quote-is-judged-on-the-quoter", delivered(US_DEFAULT), post=QUOTE),
    case(
        "kind-quote-of-a-denying-quoter",
        excluded(R.DENIED, by_event(1)),
        post=QUOTE,
        events=(event(1, DENY, "2024-12-05"),),
    ),
    case(
        "kind-quote-outside-a-posts-only-license",
        excluded(R.OUT_OF_SCOPE),
        post=QUOTE,
        scope=LicenseScope(kinds=frozenset({PostKind.POST})),
    ),
]

CASES = (
    RECORD_CHECKS
    + SCOPE
    + CHOICES
    + DEFAULTS
    + POLICIES
    + BEFORE_POLICY
    + LEDGER_TIME
    + PRECEDENCE
    + POLICY_TIMING
    + INFORMED
    + KINDS
)


def test_the_reasons_order_is_pinned() -> None:
    """DESIGN rule 5: the first reason that applies, in this order."""
    assert [r.value for r in REASON_ORDER] == [
        "direct_message",
        "deleted",
        "minor",
        "protected",
        "out_of_scope",
        "denied",
        "no_consent",
        "no_policy",
        "before_policy",
    ]


@pytest.mark.parametrize(("facts", "expected"), CASES)
def test_one_at_a_time(facts: Facts, expected: Verdict) -> None:
    verdict = evaluate(
        facts.post,
        facts.account,
        facts.events,
        facts.policies,
        facts.license,
        collaborator=facts.collaborator,
        cutoff=facts.cutoff,
        as_of=facts.as_of,
    )
    assert verdict == expected


@pytest.mark.parametrize(("facts", "expected"), CASES)
def test_bulk_form_gives_the_same_verdict(facts: Facts, expected: Verdict) -> None:
    _, verdicts = evaluate_in_bulk(
        [facts.post],
        [facts.account],
        facts.events,
        facts.policies,
        facts.license,
        collaborator=facts.collaborator,
        cutoff=facts.cutoff,
        as_of=facts.as_of,
    )
    assert verdicts == {facts.post.id: expected}


def test_the_table_reaches_every_reason_and_both_kinds_of_basis() -> None:
    """Guards the table itself: dropping a row must not silently drop a branch."""
    verdicts = [p.values[1] for p in CASES]
    assert {v.reason for v in verdicts} == {*ExclusionReason, None}
    assert all(v.allowed == (v.reason is None) for v in verdicts)
    allowing = {("event" if v.basis.event_id else "default") for v in verdicts if v.allowed}
    assert allowing == {"event", "default"}
    assert len({p.id for p in CASES}) == len(CASES)

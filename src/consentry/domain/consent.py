"""The consent rule of DESIGN.md, one post at a time.

This is the reference: the bulk form in ``consent_bulk`` must give the same verdict for every
post, and a property test holds it to that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from consentry.domain.jurisdiction import resolve_default
from consentry.domain.types import (
    ADULT_AGE,
    LICENSABLE_KINDS,
    REASON_ORDER,
    AccountFacts,
    CollaboratorFacts,
    ConsentBasis,
    ConsentEventFacts,
    Decision,
    DefaultRule,
    ExclusionReason,
    LicenseFacts,
    LicenseScope,
    PolicyFacts,
    PostFacts,
    Verdict,
    Visibility,
)


@dataclass(frozen=True)
class PolicyDefault:
    """The default in force for one jurisdiction and purpose at one moment."""

    version: str
    default: DefaultRule
    opt_out_since: datetime | None
    """Effective time of the first version in force that made the purpose opt-out here."""
    notice_days: int = 0
    """The version's notice period for newly listed collaborators (rule 6)."""

    def covers_from(self, listed_at: datetime | None) -> datetime | None:
        """Rule 6: when an opt-out default starts covering a collaborator listed at
        ``listed_at`` (its notice period after the listing); None: always known."""
        return listed_at + timedelta(days=self.notice_days) if listed_at is not None else None


@dataclass(frozen=True)
class ConsentState:
    """An account's consent for one (purpose, collaborator) at one moment, before post checks."""

    reason: ExclusionReason | None
    basis: ConsentBasis
    opt_out_since: datetime | None = None
    """Set when the allow comes only from an opt-out default (rule 4 then applies)."""


def is_minor_at(account: AccountFacts, moment: datetime) -> bool:
    if account.birth_date is not None:
        return _age_on(account.birth_date, moment.astimezone(UTC).date()) < ADULT_AGE
    return bool(account.is_minor)


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def license_in_force(license: LicenseFacts, moment: datetime) -> bool:
    """An active license whose term ``[term_start, term_end)`` holds ``moment``: the one
    boundary every reader uses (export, may-share, the settings page)."""
    if license.status != "active":
        return False
    if license.term_start is not None and moment < license.term_start:
        return False
    return license.term_end is None or moment < license.term_end


def in_scope(post: PostFacts, scope: LicenseScope, cutoff: datetime) -> bool:
    """Scope of the license; a post created after the cut-off did not exist at it. A repost is
    never in scope (rule 8: it carries no words of the reposter)."""
    if post.created_at > cutoff:
        return False
    if post.kind not in LICENSABLE_KINDS or post.kind not in scope.kinds:
        return False
    if scope.created_from is not None and post.created_at < scope.created_from:
        return False
    if scope.created_until is not None and post.created_at >= scope.created_until:
        return False
    if scope.languages is not None and post.lang not in scope.languages:
        return False
    return not (scope.public_only and post.visibility != Visibility.PUBLIC)


def latest_choice(
    events: Iterable[ConsentEventFacts],
    *,
    account_id: str,
    purpose: str,
    collaborator_id: str,
    moment: datetime,
    as_of: datetime,
    listed_at: datetime | None = None,
) -> ConsentEventFacts | None:
    """Rule 2: the latest event for (purpose, collaborator or all) effective at ``moment``,
    ties broken by ledger order.

    Rule 6: when that event is a master allow given before the collaborator was listed
    (``listed_at``), the user never agreed to this collaborator: it counts as no choice.
    """
    relevant = [
        e
        for e in events
        if e.account_id == account_id
        and e.purpose == purpose
        and e.collaborator_id in (None, collaborator_id)
        and e.effective_at <= moment
        and e.recorded_at <= as_of
    ]
    latest = max(relevant, key=lambda e: (e.effective_at, e.id), default=None)
    if latest is not None and given_before_listing(latest, listed_at):
        return None
    return latest


def given_before_listing(event: ConsentEventFacts, listed_at: datetime | None) -> bool:
    """A master allow effective before the collaborator was listed does not cover it."""
    return (
        listed_at is not None
        and event.collaborator_id is None
        and event.decision == Decision.ALLOW
        and event.effective_at < listed_at
    )


def policies_in_force(
    policies: Iterable[PolicyFacts], *, purpose: str, moment: datetime, as_of: datetime
) -> list[PolicyFacts]:
    """Published versions covering ``purpose`` that are effective at ``moment``, oldest first."""
    return sorted(
        (
            p
            for p in policies
            if purpose in p.purposes and p.published_at <= as_of and p.effective_at <= moment
        ),
        key=lambda p: (p.effective_at, p.published_at, p.version),
    )


def policy_default_at(
    policies: Sequence[PolicyFacts],
    *,
    purpose: str,
    jurisdiction: str,
    moment: datetime,
    as_of: datetime,
) -> PolicyDefault | None:
    """Rule 3: the default of the version in force at ``moment`` for ``jurisdiction``.

    A version in force that names no key matching the jurisdiction counts as ``opt_in``:
    nothing is shared without an explicit yes.
    """
    in_force = policies_in_force(policies, purpose=purpose, moment=moment, as_of=as_of)
    if not in_force:
        return None

    def default_of(policy: PolicyFacts) -> DefaultRule:
        resolved = resolve_default(policy.defaults, jurisdiction)
        return resolved[1] if resolved else DefaultRule.OPT_IN

    opt_out_since = next(
        (p.effective_at for p in in_force if default_of(p) == DefaultRule.OPT_OUT), None
    )
    current = in_force[-1]
    return PolicyDefault(current.version, default_of(current), opt_out_since, current.notice_days)


def default_state(
    policies: Sequence[PolicyFacts],
    *,
    purpose: str,
    jurisdiction: str,
    listed_at: datetime | None,
    moment: datetime,
    as_of: datetime,
) -> ConsentState:
    """Rules 3 and 6 for an account that made no choice: the default of the version in force.

    An ``opt_out`` default covers a collaborator only from its listing plus the version's notice
    period, so users are told before a new recipient gets their posts.
    """
    default = policy_default_at(
        policies, purpose=purpose, jurisdiction=jurisdiction, moment=moment, as_of=as_of
    )
    if default is None:
        return ConsentState(ExclusionReason.NO_POLICY, ConsentBasis())
    basis = ConsentBasis(policy_version=default.version, default=default.default)
    if default.default != DefaultRule.OPT_OUT:
        return ConsentState(ExclusionReason.NO_CONSENT, basis)
    covers_from = default.covers_from(listed_at)
    if covers_from is not None and moment < covers_from:
        return ConsentState(ExclusionReason.NO_CONSENT, basis)
    return ConsentState(None, basis, opt_out_since=default.opt_out_since)


def consent_state_at(
    account: AccountFacts,
    events: Iterable[ConsentEventFacts],
    policies: Sequence[PolicyFacts],
    *,
    purpose: str,
    collaborator_id: str,
    listed_at: datetime | None,
    moment: datetime,
    as_of: datetime,
) -> ConsentState:
    """Rules 2, 3 and 6 for one account at one moment, with the ledger as recorded by ``as_of``.

    ``listed_at`` is when users were first shown the collaborator (None: always known, as for
    the master switch itself).
    """
    choice = latest_choice(
        events,
        account_id=account.id,
        purpose=purpose,
        collaborator_id=collaborator_id,
        moment=moment,
        as_of=as_of,
        listed_at=listed_at,
    )
    if choice is not None:
        reason = None if choice.decision == Decision.ALLOW else ExclusionReason.DENIED
        return ConsentState(reason, ConsentBasis(event_id=choice.id))
    return default_state(
        policies,
        purpose=purpose,
        jurisdiction=account.jurisdiction,
        listed_at=listed_at,
        moment=moment,
        as_of=as_of,
    )


def evaluate(
    post: PostFacts,
    account: AccountFacts,
    events: Iterable[ConsentEventFacts],
    policies: Sequence[PolicyFacts],
    license: LicenseFacts,
    *,
    collaborator: CollaboratorFacts,
    cutoff: datetime,
    as_of: datetime,
) -> Verdict:
    """May ``post`` be delivered under ``license`` at ``cutoff``, the ledger read at ``as_of``?

    The rule is applied at the cut-off and at ``as_of`` (the moment the export runs); the post is
    delivered only if both allow it, and an excluded post gets the first reason that applies.
    """
    events = list(events)
    none = ConsentBasis()
    if post.visibility == Visibility.DIRECT:
        return Verdict(False, ExclusionReason.DIRECT_MESSAGE, none)
    if _deleted_by(post.deleted_at, as_of) or _deleted_by(account.deleted_at, as_of):
        return Verdict(False, ExclusionReason.DELETED, none)
    if is_minor_at(account, cutoff) or is_minor_at(account, as_of):
        return Verdict(False, ExclusionReason.MINOR, none)
    if account.protected:
        return Verdict(False, ExclusionReason.PROTECTED, none)
    if not in_scope(post, license.scope, cutoff):
        return Verdict(False, ExclusionReason.OUT_OF_SCOPE, none)

    outcomes = []
    for moment in (cutoff, as_of):
        state = consent_state_at(
            account,
            events,
            policies,
            purpose=license.purpose,
            collaborator_id=license.collaborator_id,
            listed_at=collaborator.listed_at,
            moment=moment,
            as_of=as_of,
        )
        reason = state.reason
        if (
            reason is None
            and state.opt_out_since is not None
            and post.created_at < state.opt_out_since
            and not license.scope.include_pre_policy_posts
        ):
            reason = ExclusionReason.BEFORE_POLICY
        outcomes.append((reason, state.basis))

    excluded = [(r, b) for r, b in outcomes if r is not None]
    if not excluded:
        return Verdict(True, None, outcomes[0][1])
    reason, basis = min(excluded, key=lambda rb: REASON_ORDER.index(rb[0]))
    return Verdict(False, reason, basis)


def _deleted_by(deleted_at: datetime | None, as_of: datetime) -> bool:
    return deleted_at is not None and deleted_at <= as_of


@dataclass(frozen=True)
class PendingChange:
    """One switch of one account across a published version that is not yet in effect."""

    before: ConsentState
    """Just before the version takes effect: what is in force then (for the second of two
    pending versions, the first one), with the ledger as recorded."""
    after: ConsentState
    """From the version's effective time, nothing else changed."""


def pending_change(
    account: AccountFacts,
    events: Iterable[ConsentEventFacts],
    policies: Sequence[PolicyFacts],
    *,
    version: str,
    purpose: str,
    collaborator_id: str,
    listed_at: datetime | None,
    as_of: datetime,
) -> PendingChange:
    """Rules 2, 3 and 6 at the version's effective time, with and without the version: what it
    changes for exactly this account and switch (their choices, their region, the listing)."""
    facts = [p for p in policies if p.version == version and purpose in p.purposes]
    if not facts:
        raise ValueError(f"version {version!r} does not cover {purpose!r}")
    moment = facts[0].effective_at
    events = list(events)
    without = [p for p in policies if p.version != version]
    states = [
        consent_state_at(
            account,
            events,
            side,
            purpose=purpose,
            collaborator_id=collaborator_id,
            listed_at=listed_at,
            moment=moment,
            as_of=as_of,
        )
        for side in (without, policies)
    ]
    return PendingChange(before=states[0], after=states[1])

"""The one data function behind "Data sharing and personalization" and its JSON twin.

The switches show what the export will do: each is the consent rule's state at this moment
(``domain.consent.consent_state_at``), defaults included, with the reason in plain words.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from consentry.domain import consent
from consentry.domain.consent_bulk import MASTER_SWITCH_ONLY
from consentry.domain.purposes import page_order, plain_words
from consentry.domain.types import (
    AccountFacts,
    ConsentEventFacts,
    DefaultRule,
    ExclusionReason,
    PolicyFacts,
)
from consentry.errors import NotFound
from consentry.revenue.money import money
from consentry.service.gpc import GpcView
from consentry.service.policy_changes import (
    PolicyChangeView,
    PolicyView,
    Switch,
    pending_changes,
    versions_in_force,
)
from consentry.service.received import ReceivedView, received
from consentry.service.web.times import Viewer
from consentry.settings import Settings
from consentry.store.invoices import earnings_of
from consentry.store.models import Account, Collaborator, NoticeServed
from consentry.store.snapshot import Reference, consent_inputs

SOURCE_WORDS = {
    "settings": "this page",
    "api": "the platform app",
    "gpc": "Global Privacy Control (your browser)",
    "default": "default",
    "import": "imported from the platform",
    "admin": "platform staff",
}
NOT_COVERED = "Your choice for all collaborators does not cover it"


class SwitchView(BaseModel):
    purpose: str
    collaborator_id: str | None
    collaborator_name: str | None = None
    collaborator_country: str | None = None
    listed_at: datetime | None = None
    """When users were first shown the collaborator (rule 6)."""
    new_since_your_choice: bool = False
    """Listed after the master allow the user's choice rests on, so that choice does not cover
    it: the rule applies the default and the user is asked again."""
    label: str
    on: bool
    explanation: str
    changed_at: datetime | None
    """When the choice this state rests on was recorded (None: a default applies)."""
    if_off: str | None = None
    """While on: what switching it off does, to future deliveries and to posts already shared."""


class PurposeView(BaseModel):
    """One purpose a published policy covers: its master switch and, per collaborator holding
    a license for it now, that collaborator's switch."""

    purpose: str
    heading: str
    description: str
    policy_version: str | None
    """The version in force for this purpose now (None: only announced, not yet in force)."""
    master: SwitchView
    collaborators: list[SwitchView]


class HistoryEntry(BaseModel):
    event_id: int
    recorded_at: datetime
    effective_at: datetime
    choice: str
    purpose_words: str
    collaborator_id: str | None
    collaborator: str
    source: str
    source_words: str


class EarnedView(BaseModel):
    year: int
    currency: str
    amount_minor: int
    amount: str
    """As people read it, e.g. "$1.25"."""


class DataSharingView(BaseModel):
    account_id: str
    handle: str
    jurisdiction: str
    generated_at: datetime
    blocked: str | None
    """Why none of the account's posts are shared whatever the switches say, if so."""
    purposes: list[PurposeView]
    policies: list[PolicyView]
    """The versions in force for the purposes shown, in the order of those purposes."""
    changes: list[PolicyChangeView]
    gpc: GpcView
    history: list[HistoryEntry]
    received: list[ReceivedView]
    """Who received the user's posts: per delivery, which posts, how changed, what happened."""
    earned: list[EarnedView]
    """What the user's delivered posts earned this calendar year, per currency (the licenses'
    creator share; empty when none shares)."""


def data_sharing(
    session: Session,
    reference: Reference,
    *,
    account_id: str,
    now: datetime,
    gpc: GpcView,
    settings: Settings,
    viewer: Viewer,
) -> DataSharingView:
    """Everything the page shows, computed once for the HTML page and the JSON twin alike;
    dates in sentences are in the ``viewer``'s zone and format."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("account", account_id)
    inputs = consent_inputs(session.connection(), account_ids=[account_id], reference=reference)
    events = inputs.events_of(account_id)
    names = {c.id: c for c in session.scalars(select(Collaborator))}
    facts = inputs.account(account_id)
    state_of = _StateOf(facts, events, reference, now, viewer)
    licensed = _licensed(names, reference, now)
    purposes = [
        state_of.purpose(purpose, [c for c, licensed_for in licensed if licensed_for == purpose])
        for purpose in _shown_purposes(reference.policies, now)
    ]
    switches = [
        Switch(s.purpose, s.collaborator_id, s.collaborator_name, s.listed_at)
        for p in purposes
        for s in (p.master, *p.collaborators)
    ]
    return DataSharingView(
        account_id=account.id,
        handle=account.handle,
        jurisdiction=account.jurisdiction,
        generated_at=now,
        blocked=_blocked(facts, now),
        purposes=purposes,
        policies=versions_in_force(
            session,
            reference.policies,
            [p.policy_version for p in purposes if p.policy_version],
            jurisdiction=account.jurisdiction,
            now=now,
        ),
        changes=pending_changes(
            session, facts, events, reference.policies, switches, viewer=viewer, now=now
        ),
        gpc=gpc,
        history=[_history(e, names) for e in reversed(events)],
        received=received(
            session,
            account_id=account_id,
            home=settings.home,
            now=now,
            post_url=settings.post_url,
            viewer=viewer,
        ),
        earned=[
            EarnedView(year=now.year, currency=c, amount_minor=a, amount=money(a, c))
            for c, a in earnings_of(session, account_id=account_id, year=now.year).items()
        ],
    )


def _shown_purposes(policies: list[PolicyFacts], now: datetime) -> list[str]:
    """Every purpose a published version covers, in force or announced: the user can choose
    before a version applies, as its banner says."""
    covered = {purpose for p in policies if p.published_at <= now for purpose in p.purposes}
    return sorted(covered, key=page_order)


class _StateOf:
    """The rule's state of each switch at ``now``, with its explanation in plain words."""

    def __init__(
        self,
        account: AccountFacts,
        events: list[ConsentEventFacts],
        reference: Reference,
        now: datetime,
        viewer: Viewer,
    ) -> None:
        self.facts, self.reference, self.now, self.viewer = account, reference, now, viewer
        self.events = {e.id: e for e in events}
        self.event_facts = events

    def purpose(self, purpose: str, collaborators: list[Collaborator]) -> PurposeView:
        words = plain_words(purpose)
        in_force = consent.policies_in_force(
            self.reference.policies, purpose=purpose, moment=self.now, as_of=self.now
        )
        switches = [
            self.switch(
                purpose,
                c,
                f"Allow {c.name} ({c.country}) to use my posts to {words.use}",
            )
            for c in collaborators
        ]
        newer = [s.collaborator_name or "" for s in switches if s.new_since_your_choice]
        master = self.switch(
            purpose, None, f"Allow collaborators to use my posts to {words.use}", newer=newer
        )
        return PurposeView(
            purpose=purpose,
            heading=words.heading,
            description=words.description,
            policy_version=in_force[-1].version if in_force else None,
            master=master,
            collaborators=switches,
        )

    def switch(
        self,
        purpose: str,
        collaborator: Collaborator | None,
        label: str,
        newer: list[str] | None = None,
    ) -> SwitchView:
        """``newer``: for the master switch, the collaborators its allow does not cover."""
        collaborator_id = collaborator.id if collaborator else MASTER_SWITCH_ONLY
        listed_at = self.reference.collaborator(collaborator.id).listed_at if collaborator else None
        state = consent.consent_state_at(
            self.facts,
            self.event_facts,
            self.reference.policies,
            purpose=purpose,
            collaborator_id=collaborator_id,
            listed_at=listed_at,
            moment=self.now,
            as_of=self.now,
        )
        # The user's own latest choice, before rule 6 discounts it: a master allow given
        # before this collaborator was listed is what makes it "new since your choice".
        choice = consent.latest_choice(
            self.event_facts,
            account_id=self.facts.id,
            purpose=purpose,
            collaborator_id=collaborator_id,
            moment=self.now,
            as_of=self.now,
        )
        new = choice is not None and consent.given_before_listing(choice, listed_at)
        event = self.events.get(state.basis.event_id) if state.basis.event_id else None
        default = consent.policy_default_at(
            self.reference.policies,
            purpose=purpose,
            jurisdiction=self.facts.jurisdiction,
            moment=self.now,
            as_of=self.now,
        )
        if event is not None:
            explanation = _explain_choice(
                event, per_collaborator=collaborator is not None, viewer=self.viewer
            )
            if event.decision == "allow" and newer:
                explanation += (
                    f" It does not cover {_and(newer)}, added since: choose for "
                    f"{'it' if len(newer) == 1 else 'each'} below."
                )
        else:
            explanation = _explain_default(
                state, default, listed_at=listed_at, new=new, viewer=self.viewer
            )
        return SwitchView(
            purpose=purpose,
            collaborator_id=collaborator.id if collaborator else None,
            collaborator_name=collaborator.name if collaborator else None,
            collaborator_country=collaborator.country if collaborator else None,
            listed_at=listed_at,
            new_since_your_choice=new,
            label=label,
            on=state.reason is None,
            explanation=explanation,
            changed_at=event.recorded_at if event else None,
            if_off=self.if_off(purpose, collaborator) if state.reason is None else None,
        )

    def if_off(self, purpose: str, collaborator: Collaborator | None) -> str:
        """What switching off does, with the deletion deadline of the licenses concerned (the
        longest: a notice under any of them is due within it)."""
        days = [
            lic.deletion_sla_days
            for lic in self.reference.licenses
            if lic.purpose == purpose
            and (collaborator is None or lic.collaborator_id == collaborator.id)
        ]
        if collaborator is None:
            future = "If you switch this off, collaborators get none of your posts from now on"
            past = "we tell those that already have some to delete them"
        else:
            future = (
                f"If you switch this off, {collaborator.name} gets none of your posts from now on"
            )
            past = "if it already has some, we tell it to delete them"
        if not days:
            return f"{future}."
        return f"{future}, and {past} within {_days(max(days))}."


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _explain_choice(event: ConsentEventFacts, *, per_collaborator: bool, viewer: Viewer) -> str:
    word = "on" if event.decision == "allow" else "off"
    via = SOURCE_WORDS.get(event.source, event.source)
    if per_collaborator and event.collaborator_id is None:
        return (
            f"{word.capitalize()} because of your choice for all collaborators "
            f"({via}, {viewer.date(event.recorded_at)})."
        )
    if event.source == "gpc":
        return (
            "Switched off by Global Privacy Control from your browser on "
            f"{viewer.date(event.recorded_at)}."
        )
    return f"You switched this {word} ({via}, {viewer.time(event.recorded_at)})."


def _explain_default(
    state: consent.ConsentState,
    default: consent.PolicyDefault | None,
    *,
    listed_at: datetime | None,
    new: bool,
    viewer: Viewer,
) -> str:
    """A default applies: say which, and for a collaborator listed after the user's choice for
    all collaborators, that this choice does not cover it (rule 6)."""
    if state.reason == ExclusionReason.NO_POLICY or default is None:
        return "Off: no policy allows sharing for this purpose."
    if default.default == DefaultRule.NEVER:
        # Rule 3: ``never`` is what applies to someone who made no choice; a yes still counts.
        return "Off in your region unless you switch it on: nothing is shared by default."
    added = (
        f"Added on {viewer.date(listed_at)}, after you chose for all collaborators. {NOT_COVERED}"
        if new and listed_at is not None
        else ""
    )
    if default.default == DefaultRule.OPT_IN:
        if added:
            return f"{added}: switch it on if you want it to get your posts."
        return "Off by default in your region (opt-in)."
    # Opt-out covers a newly listed collaborator only once its notice period has passed.
    starts = default.covers_from(listed_at)
    if state.reason is not None and listed_at is not None and starts is not None:
        if added:
            return (
                f"{added}: it starts receiving your posts on {viewer.date(starts)}, as for people "
                "who did not choose, unless you switch it off."
            )
        return (
            f"Added on {viewer.date(listed_at)}. Starts receiving posts of people who did not "
            f"choose from {viewer.date(starts)}, unless you switch it off."
        )
    since = max(d for d in (default.opt_out_since, starts) if d is not None)
    if added:
        return (
            f"{added}: it gets your posts by default since {viewer.date(since)} (opt-out), as for "
            "people who did not choose; you can switch it off."
        )
    return f"On by default since {viewer.date(since)} (opt-out); you can switch it off."


def _licensed(
    names: dict[str, Collaborator], reference: Reference, now: datetime
) -> list[tuple[Collaborator, str]]:
    """Active collaborators with a license in force, one entry per purpose licensed."""
    pairs = [(names[c.id], purpose) for c, purpose in reference.licensed_pairs(now)]
    return sorted(pairs, key=lambda pair: (pair[0].name, pair[1]))


def _blocked(account: AccountFacts, now: datetime) -> str | None:
    if account.deleted_at is not None and account.deleted_at <= now:
        return "Your account is deleted, so none of your posts are shared."
    if consent.is_minor_at(account, now):
        return "You are under 18, so none of your posts are shared, whatever the switches say."
    if account.protected:
        return (
            "Your posts are protected (private), so none of them are shared, "
            "whatever the switches say."
        )
    return None


def _history(event: ConsentEventFacts, collaborators: dict[str, Collaborator]) -> HistoryEntry:
    who = collaborators.get(event.collaborator_id) if event.collaborator_id else None
    return HistoryEntry(
        event_id=event.id,
        recorded_at=event.recorded_at,
        effective_at=event.effective_at,
        choice="on" if event.decision == "allow" else "off",
        purpose_words=plain_words(event.purpose).use,
        collaborator_id=event.collaborator_id,
        collaborator=who.name if who else (event.collaborator_id or "All collaborators"),
        source=event.source,
        source_words=SOURCE_WORDS.get(event.source, event.source),
    )


def record_notices(session: Session, view: DataSharingView, *, surface: str) -> None:
    """Keep proof that the user was shown the policy and each change banner, and when."""
    shown = [(policy.version, "notice") for policy in view.policies]
    shown += [(change.version, "change_banner") for change in view.changes]
    for version, kind in shown:
        session.add(
            NoticeServed(
                account_id=view.account_id,
                policy_version=version,
                kind=kind,
                surface=surface,
                shown_at=view.generated_at,
            )
        )

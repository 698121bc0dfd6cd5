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
from consentry.domain.purposes import PLAIN_WORDS, TRAIN_AI_SYSTEM
from consentry.domain.types import (
    AccountFacts,
    ConsentEventFacts,
    DefaultRule,
    ExclusionReason,
    PolicyFacts,
)
from consentry.errors import NotFound
from consentry.service.gpc import GpcView
from consentry.service.received import ReceivedView, deliveries_of_account
from consentry.store.models import (
    Account,
    Collaborator,
    NoticeServed,
    PolicyVersion,
)
from consentry.store.snapshot import Reference, consent_inputs

SOURCE_WORDS = {
    "settings": "this page",
    "api": "the platform app",
    "gpc": "Global Privacy Control (your browser)",
    "default": "default",
    "import": "imported from the platform",
    "admin": "platform staff",
}
DEFAULT_WORDS = {
    DefaultRule.OPT_IN: "off unless you switch it on (opt-in)",
    DefaultRule.OPT_OUT: "on unless you switch it off (opt-out)",
    DefaultRule.NEVER: "never shared",
}
MASTER_LABEL = "Allow collaborators to use my posts to train AI models"


class SwitchView(BaseModel):
    purpose: str
    purpose_words: str
    collaborator_id: str | None
    collaborator_name: str | None = None
    collaborator_country: str | None = None
    label: str
    on: bool
    explanation: str
    changed_at: datetime | None
    """When the choice this state rests on was recorded (None: a default applies)."""


class PolicyView(BaseModel):
    version: str
    summary: str
    published_at: datetime | None
    effective_at: datetime | None


class PolicyChangeView(PolicyView):
    what_changes: str
    your_choice: str


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


class DataSharingView(BaseModel):
    account_id: str
    handle: str
    jurisdiction: str
    generated_at: datetime
    blocked: str | None
    """Why none of the account's posts are shared whatever the switches say, if so."""
    master: SwitchView
    collaborators: list[SwitchView]
    policy: PolicyView | None
    changes: list[PolicyChangeView]
    gpc: GpcView
    history: list[HistoryEntry]
    received: list[ReceivedView]


def data_sharing(
    session: Session, reference: Reference, *, account_id: str, now: datetime, gpc: GpcView
) -> DataSharingView:
    """Everything the page shows, computed once for the HTML page and the JSON twin alike."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("account", account_id)
    inputs = consent_inputs(session.connection(), account_ids=[account_id], reference=reference)
    events = inputs.events_of(account_id)
    policies = reference.policies
    names = {c.id: c for c in session.scalars(select(Collaborator))}
    state_of = _StateOf(inputs.account(account_id), events, reference, now)
    master = state_of.switch(TRAIN_AI_SYSTEM, None, MASTER_LABEL)
    switches = [
        state_of.switch(
            purpose,
            collaborator,
            f"Allow {collaborator.name} ({collaborator.country}) to use my posts to "
            f"{PLAIN_WORDS.get(purpose, purpose)}",
        )
        for collaborator, purpose in _licensed(names, reference, now)
    ]
    return DataSharingView(
        account_id=account.id,
        handle=account.handle,
        jurisdiction=account.jurisdiction,
        generated_at=now,
        blocked=_blocked(inputs.account(account_id), now),
        master=master,
        collaborators=switches,
        policy=_in_force(session, policies, now),
        changes=_changes(session, policies, account.jurisdiction, master, now),
        gpc=gpc,
        history=[_history(e, names) for e in reversed(events)],
        received=deliveries_of_account(session, account_id),
    )


class _StateOf:
    def __init__(
        self,
        account: AccountFacts,
        events: list[ConsentEventFacts],
        reference: Reference,
        now: datetime,
    ) -> None:
        self.facts, self.reference, self.now = account, reference, now
        self.events = {e.id: e for e in events}
        self.event_facts = events

    def switch(self, purpose: str, collaborator: Collaborator | None, label: str) -> SwitchView:
        state = consent.consent_state_at(
            self.facts,
            self.event_facts,
            self.reference.policies,
            purpose=purpose,
            collaborator_id=collaborator.id if collaborator else MASTER_SWITCH_ONLY,
            listed_at=(
                self.reference.collaborator(collaborator.id).listed_at if collaborator else None
            ),
            moment=self.now,
            as_of=self.now,
        )
        on = state.reason is None
        event = self.events.get(state.basis.event_id) if state.basis.event_id else None
        return SwitchView(
            purpose=purpose,
            purpose_words=PLAIN_WORDS.get(purpose, purpose),
            collaborator_id=collaborator.id if collaborator else None,
            collaborator_name=collaborator.name if collaborator else None,
            collaborator_country=collaborator.country if collaborator else None,
            label=label,
            on=on,
            explanation=_explain(state, event, collaborator is not None),
            changed_at=event.recorded_at if event else None,
        )


def _explain(
    state: consent.ConsentState, event: ConsentEventFacts | None, per_collaborator: bool
) -> str:
    if event is not None:
        word = "on" if event.decision == "allow" else "off"
        via = SOURCE_WORDS.get(event.source, event.source)
        if per_collaborator and event.collaborator_id is None:
            day = f"{event.recorded_at:%Y-%m-%d}"
            return (
                f"{word.capitalize()} because of your choice for all collaborators ({via}, {day})."
            )
        if event.source == "gpc":
            return (
                "Switched off by Global Privacy Control from your browser on "
                f"{event.recorded_at:%Y-%m-%d}."
            )
        return f"You switched this {word} on {event.recorded_at:%Y-%m-%d %H:%M} UTC ({via})."
    if state.reason == ExclusionReason.NO_POLICY:
        return "Off: no policy allows sharing for this purpose."
    default = state.basis.default
    if default == DefaultRule.OPT_OUT and state.opt_out_since is not None:
        return (
            f"On by default since {state.opt_out_since:%Y-%m-%d} (opt-out); you can switch it off."
        )
    if default == DefaultRule.NEVER:
        return "Never shared in your region."
    return "Off by default in your region (opt-in)."


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


def _version_row(session: Session, version: str) -> PolicyVersion | None:
    return session.scalars(select(PolicyVersion).where(PolicyVersion.version == version)).first()


def _in_force(session: Session, policies: list[PolicyFacts], now: datetime) -> PolicyView | None:
    in_force = consent.policies_in_force(policies, purpose=TRAIN_AI_SYSTEM, moment=now, as_of=now)
    row = _version_row(session, in_force[-1].version) if in_force else None
    if row is None:
        return None
    return PolicyView(
        version=row.version,
        summary=row.summary,
        published_at=row.published_at,
        effective_at=row.effective_at,
    )


def _default_words(
    policies: list[PolicyFacts], jurisdiction: str, moment: datetime, now: datetime
) -> str:
    found = consent.policy_default_at(
        policies, purpose=TRAIN_AI_SYSTEM, jurisdiction=jurisdiction, moment=moment, as_of=now
    )
    return DEFAULT_WORDS[found.default] if found else "off (no policy allows sharing)"


def _changes(
    session: Session,
    policies: list[PolicyFacts],
    jurisdiction: str,
    master: SwitchView,
    now: datetime,
) -> list[PolicyChangeView]:
    """Published versions not yet in effect: what changes for this user, and from when."""
    pending = session.scalars(
        select(PolicyVersion)
        .where(PolicyVersion.status == "published", PolicyVersion.effective_at > now)
        .order_by(PolicyVersion.effective_at)
    ).all()
    changes = []
    for row in pending:
        assert row.effective_at is not None
        before = _default_words(policies, jurisdiction, now, now)
        after = _default_words(policies, jurisdiction, row.effective_at, now)
        what = (
            f"For your region, the default stays: {after}."
            if before == after
            else f"For your region, the default changes from “{before}” to “{after}”."
        )
        if master.changed_at is not None:
            word = "on" if master.on else "off"
            choice = (
                f"Your choice stays as you set it: {word} (since {master.changed_at:%Y-%m-%d})."
            )
        else:
            choice = f"You have not chosen; from {row.effective_at:%Y-%m-%d} sharing is {after}."
        changes.append(
            PolicyChangeView(
                version=row.version,
                summary=row.summary,
                published_at=row.published_at,
                effective_at=row.effective_at,
                what_changes=what,
                your_choice=choice,
            )
        )
    return changes


def _history(event: ConsentEventFacts, collaborators: dict[str, Collaborator]) -> HistoryEntry:
    who = collaborators.get(event.collaborator_id) if event.collaborator_id else None
    return HistoryEntry(
        event_id=event.id,
        recorded_at=event.recorded_at,
        effective_at=event.effective_at,
        choice="on" if event.decision == "allow" else "off",
        purpose_words=PLAIN_WORDS.get(event.purpose, event.purpose),
        collaborator_id=event.collaborator_id,
        collaborator=who.name if who else (event.collaborator_id or "All collaborators"),
        source=event.source,
        source_words=SOURCE_WORDS.get(event.source, event.source),
    )


def record_notices(session: Session, view: DataSharingView, *, surface: str) -> None:
    """Keep proof that the user was shown the policy and each change banner, and when."""
    shown = [(view.policy.version, "notice")] if view.policy else []
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

"""Policy versions as the user's page tells them: the versions in force with their full text and
what each changed from the one before, every version ever published, and one banner per
published version not yet in effect, saying what it changes for exactly this user.

The banners come from the consent rule (``domain.consent.pending_change``): each switch is the
rule's state at the version's effective time, without the version and with it, with this user's
choices, region and the collaborators' listing dates (rule 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from consentry.domain import consent
from consentry.domain.consent_bulk import MASTER_SWITCH_ONLY
from consentry.domain.purposes import page_order, plain_words
from consentry.domain.types import AccountFacts, ConsentEventFacts, DefaultRule, PolicyFacts
from consentry.service.web.times import Viewer
from consentry.store.models import PolicyVersion

DEFAULT_WORDS = {
    DefaultRule.OPT_IN: "off unless you switch it on",
    DefaultRule.OPT_OUT: "on unless you switch it off",
    DefaultRule.NEVER: "off unless you switch it on (never shared by default)",
}
NO_POLICY_WORDS = "off (no policy allows it)"


class PolicyView(BaseModel):
    version: str
    summary: str
    full_text: str
    """The whole policy in Markdown (the page renders it with HTML disabled)."""
    published_at: datetime | None
    effective_at: datetime | None
    previous_version: str | None
    """The version this one followed (the latest that took effect before it)."""
    changed: list[str]
    """What it changed from the previous version, purpose by purpose, for the user's region."""


class SwitchChangeView(BaseModel):
    """One of the user's switches across a pending version."""

    purpose: str
    heading: str
    collaborator_id: str | None
    """None: the switch for all collaborators."""
    who: str
    on_before: bool
    on_after: bool
    sentence: str


class PolicyChangeView(PolicyView):
    """A published version not yet in effect, as this user's banner tells it."""

    what_changes: list[str]
    """The defaults for people in the user's region who have not chosen, purpose by purpose."""
    for_you: list[SwitchChangeView]
    """What the version does to each of this user's switches for the purposes it covers."""
    changes_for_you: bool
    """Whether any of those switches goes from on to off or back."""


@dataclass(frozen=True)
class Switch:
    """A switch the page shows: the master (no collaborator) or one collaborator's."""

    purpose: str
    collaborator_id: str | None
    name: str | None
    listed_at: datetime | None


def _words(found: consent.PolicyDefault | None) -> str:
    return DEFAULT_WORDS[found.default] if found else NO_POLICY_WORDS


def _rows(session: Session) -> dict[str, PolicyVersion]:
    return {
        row.version: row
        for row in session.scalars(select(PolicyVersion).where(PolicyVersion.status == "published"))
    }


def _versions(policies: list[PolicyFacts]) -> list[PolicyFacts]:
    """One fact per version (the rule's facts are one per version and purpose), in the order
    they take effect."""
    first = {p.version: p for p in reversed(policies)}
    return sorted(first.values(), key=lambda p: (p.effective_at, p.published_at, p.version))


def _covers(policies: list[PolicyFacts], version: str) -> list[str]:
    covered = {purpose for p in policies if p.version == version for purpose in p.purposes}
    return sorted(covered, key=page_order)


def _default_around(
    policies: list[PolicyFacts],
    version: PolicyFacts,
    purpose: str,
    jurisdiction: str,
    now: datetime,
) -> tuple[consent.PolicyDefault | None, consent.PolicyDefault | None]:
    """Rule 3 at the version's effective time, without it and with it."""
    without = [p for p in policies if p.version != version.version]
    return tuple(  # type: ignore[return-value]
        consent.policy_default_at(
            side,
            purpose=purpose,
            jurisdiction=jurisdiction,
            moment=version.effective_at,
            as_of=now,
        )
        for side in (without, policies)
    )


def _changed(
    policies: list[PolicyFacts], version: PolicyFacts, jurisdiction: str, now: datetime
) -> list[str]:
    lines = []
    for purpose in _covers(policies, version.version):
        before, after = _default_around(policies, version, purpose, jurisdiction, now)
        heading = plain_words(purpose).heading
        if before is None:
            lines.append(f"{heading}: newly covered; in your region it is {_words(after)}.")
        elif _words(before) == _words(after):
            lines.append(f"{heading}: no change in your region ({_words(after)}).")
        else:
            lines.append(
                f"{heading}: in your region it was {_words(before)}; now it is {_words(after)}."
            )
    return lines


def _view(
    row: PolicyVersion,
    fact: PolicyFacts,
    policies: list[PolicyFacts],
    jurisdiction: str,
    now: datetime,
) -> PolicyView:
    earlier = [p for p in _versions(policies) if p.effective_at < fact.effective_at]
    return PolicyView(
        version=row.version,
        summary=row.summary,
        full_text=row.full_text,
        published_at=row.published_at,
        effective_at=row.effective_at,
        previous_version=earlier[-1].version if earlier else None,
        changed=_changed(policies, fact, jurisdiction, now),
    )


def policy_versions(
    session: Session, policies: list[PolicyFacts], *, jurisdiction: str, now: datetime
) -> list[PolicyView]:
    """Every version published by ``now``, newest first, with what each changed."""
    rows = _rows(session)
    shown = [p for p in _versions(policies) if p.published_at <= now and p.version in rows]
    return [_view(rows[p.version], p, policies, jurisdiction, now) for p in reversed(shown)]


def versions_in_force(
    session: Session,
    policies: list[PolicyFacts],
    versions: list[str],
    *,
    jurisdiction: str,
    now: datetime,
) -> list[PolicyView]:
    """The views of ``versions`` (those in force for the purposes shown), in that order."""
    by_version = {p.version: p for p in policies}
    rows = _rows(session)
    return [
        _view(rows[v], by_version[v], policies, jurisdiction, now)
        for v in dict.fromkeys(versions)
        if v in rows and v in by_version
    ]


class _Banner:
    """The rule's view of this user's switches across one pending version."""

    def __init__(
        self,
        account: AccountFacts,
        events: list[ConsentEventFacts],
        policies: list[PolicyFacts],
        viewer: Viewer,
        now: datetime,
    ) -> None:
        self.account, self.events, self.policies = account, events, policies
        self.by_id = {e.id: e for e in events}
        self.viewer, self.now = viewer, now

    def switch(self, version: PolicyFacts, switch: Switch) -> SwitchChangeView:
        change = consent.pending_change(
            self.account,
            self.events,
            self.policies,
            version=version.version,
            purpose=switch.purpose,
            collaborator_id=switch.collaborator_id or MASTER_SWITCH_ONLY,
            listed_at=switch.listed_at,
            as_of=self.now,
        )
        on_before, on_after = change.before.reason is None, change.after.reason is None
        who = switch.name or "All collaborators"
        because = self.because(version, switch, change.after)
        if on_before == on_after:
            sentence = f"{who}: stays {_on(on_after)}, because {because}."
        else:
            sentence = (
                f"{who}: {_on(on_before)} until {self.viewer.date(version.effective_at)}, then "
                f"{_on(on_after)}, because {because}."
            )
        return SwitchChangeView(
            purpose=switch.purpose,
            heading=plain_words(switch.purpose).heading,
            collaborator_id=switch.collaborator_id,
            who=who,
            on_before=on_before,
            on_after=on_after,
            sentence=sentence,
        )

    def because(self, version: PolicyFacts, switch: Switch, after: consent.ConsentState) -> str:
        """Why the switch is as it will be: the user's own choice, their choice for all
        collaborators, or the new version's default for their region."""
        event = self.by_id.get(after.basis.event_id) if after.basis.event_id else None
        if event is not None:
            when = self.viewer.date(event.recorded_at)
            if event.collaborator_id is None and switch.collaborator_id is not None:
                return (
                    f"it follows your choice for all collaborators ({_on(event.decision)} "
                    f"since {when}), which this change does not touch"
                )
            target = "all collaborators" if switch.collaborator_id is None else switch.name
            return f"you switched it {_on(event.decision)} for {target} on {when}, and that stands"
        found = consent.policy_default_at(
            self.policies,
            purpose=switch.purpose,
            jurisdiction=self.account.jurisdiction,
            moment=version.effective_at,
            as_of=self.now,
        )
        words = _words(found)
        covers_from = found.covers_from(switch.listed_at) if found else None
        if (
            found is not None
            and found.default == DefaultRule.OPT_OUT
            and covers_from is not None
            and covers_from > version.effective_at
        ):
            words += f", and it gets posts only from {self.viewer.date(covers_from)}"
        latest = consent.latest_choice(
            self.events,
            account_id=self.account.id,
            purpose=switch.purpose,
            collaborator_id=switch.collaborator_id or MASTER_SWITCH_ONLY,
            moment=version.effective_at,
            as_of=self.now,
        )
        if latest is not None and consent.given_before_listing(latest, switch.listed_at):
            return (
                f"your choice for all collaborators was made before {switch.name} was added, so "
                f"the default for your region applies: {words}"
            )
        if switch.collaborator_id is None:
            return (
                "you have not chosen for all collaborators, so the default for your region "
                f"applies: {words}"
            )
        return (
            f"you have chosen neither for it nor for all collaborators, so the default for your "
            f"region applies: {words}"
        )


def _on(state: bool | str) -> str:
    return "on" if state is True or state == "allow" else "off"


def pending_changes(
    session: Session,
    account: AccountFacts,
    events: list[ConsentEventFacts],
    policies: list[PolicyFacts],
    switches: list[Switch],
    *,
    viewer: Viewer,
    now: datetime,
) -> list[PolicyChangeView]:
    """One banner per version published but not yet in effect, in the order they take effect;
    each compares its effective time with what is in force just before it."""
    rows = _rows(session)
    banner = _Banner(account, events, policies, viewer, now)
    views = []
    for version in _versions(policies):
        if not version.published_at <= now < version.effective_at or version.version not in rows:
            continue
        covered = _covers(policies, version.version)
        what = []
        for purpose in covered:
            before, after = _default_around(policies, version, purpose, account.jurisdiction, now)
            use = plain_words(purpose).use
            what.append(
                f"Using their posts to {use} stays “{_words(after)}”."
                if _words(before) == _words(after)
                else f"Using their posts to {use} goes from “{_words(before)}” to "
                f"“{_words(after)}”."
            )
        mine = [
            banner.switch(version, s)
            for purpose in covered
            for s in switches
            if s.purpose == purpose
        ]
        views.append(
            PolicyChangeView(
                **_view(
                    rows[version.version], version, policies, account.jurisdiction, now
                ).model_dump(),
                what_changes=what,
                for_you=mine,
                changes_for_you=any(s.on_before != s.on_after for s in mine),
            )
        )
    return views

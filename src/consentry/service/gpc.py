"""Global Privacy Control (``Sec-GPC: 1``): where the law makes it an opt-out, it is one.

The signal is honoured as a deny of AI training by all collaborators where the law makes it an
opt-out (``domain.jurisdiction.gpc_is_an_opt_out``: the US states whose privacy laws require
honouring universal opt-out signals, the EEA and the UK). Elsewhere the page says it saw the
signal and that the switches decide.

The deny is recorded once: not again while the rule's latest choice for all collaborators
(effective now; a future-dated event is not in effect yet) is already a deny, and not over an
explicit "allow" that took effect after the signal was first honoured (the user's later,
specific choice stands; the page says so).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from consentry.domain.consent import latest_choice
from consentry.domain.consent_bulk import MASTER_SWITCH_ONLY
from consentry.domain.jurisdiction import gpc_is_an_opt_out
from consentry.domain.purposes import TRAIN_AI_SYSTEM
from consentry.domain.types import ConsentSource, Decision
from consentry.store.consent import now, record_consent
from consentry.store.snapshot import Reference, consent_inputs


class GpcView(BaseModel):
    signal: bool
    """The request carried ``Sec-GPC: 1``."""
    honoured: bool
    """The account's jurisdiction makes the signal an opt-out."""
    recorded_at: datetime | None = None
    """When the signal was recorded as a deny (now or earlier)."""
    message: str = ""
    recorded_now: bool = Field(default=False, exclude=True)
    """This request recorded the deny (so what was delivered must be judged again)."""


def apply_gpc(
    session: Session,
    reference: Reference,
    *,
    account_id: str,
    jurisdiction: str,
    signal: bool,
    actor: str,
) -> GpcView:
    """Record the signal as a deny where it is an opt-out and the rule's own latest choice for
    all collaborators (effective now) is not already a deny."""
    if not signal:
        return GpcView(signal=False, honoured=gpc_is_an_opt_out(jurisdiction))
    if not gpc_is_an_opt_out(jurisdiction):
        return GpcView(
            signal=True,
            honoured=False,
            message="Your browser sends a Global Privacy Control signal. Where you live it is "
            "not a legal opt-out by itself, so the switches below decide.",
        )
    moment = now()
    inputs = consent_inputs(
        session.connection(),
        purpose=TRAIN_AI_SYSTEM,
        account_ids=[account_id],
        reference=reference,
    )
    events = inputs.events_of(account_id)
    latest = latest_choice(
        events,
        account_id=account_id,
        purpose=TRAIN_AI_SYSTEM,
        collaborator_id=MASTER_SWITCH_ONLY,
        moment=moment,
        as_of=moment,
    )
    in_effect = [
        e
        for e in events
        if e.collaborator_id is None and e.effective_at <= moment and e.recorded_at <= moment
    ]
    last_gpc = max(
        (e for e in in_effect if e.source == ConsentSource.GPC),
        key=lambda e: (e.effective_at, e.id),
        default=None,
    )
    if latest is not None and latest.decision == Decision.DENY:
        at = last_gpc.recorded_at if last_gpc is not None and latest.id == last_gpc.id else None
        return GpcView(
            signal=True,
            honoured=True,
            recorded_at=at,
            message="Your browser sends a Global Privacy Control signal; AI training is "
            "switched off for all collaborators.",
        )
    if latest is not None and last_gpc is not None:
        return GpcView(
            signal=True,
            honoured=True,
            recorded_at=last_gpc.recorded_at,
            message="Your browser sends a Global Privacy Control signal, which we recorded as "
            "“off”. You switched sharing on again afterwards, and that later choice stands.",
        )
    event = record_consent(
        session,
        account_id=account_id,
        purpose=TRAIN_AI_SYSTEM,
        decision=Decision.DENY,
        source=ConsentSource.GPC,
        actor=actor,
    )
    return GpcView(
        signal=True,
        honoured=True,
        recorded_at=event.recorded_at,
        recorded_now=True,
        message="Your browser sent a Global Privacy Control signal. Where you live this is an "
        "opt-out, so we switched AI training off for all collaborators.",
    )

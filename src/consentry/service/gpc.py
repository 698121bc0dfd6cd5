"""Global Privacy Control (``Sec-GPC: 1``): where the law makes it an opt-out, it is one.

Decision (documented in the README's service section): the signal is honoured as a deny of AI
training by all collaborators for accounts in the US states whose privacy laws require
honouring universal opt-out signals (California, Colorado, Connecticut, New Jersey, Oregon,
Texas, Montana, Delaware, New Hampshire, Minnesota, Maryland), and in the EEA and the UK, where
GDPR Art. 21(5) lets a person object by automated means. Elsewhere the page says it saw the
signal and that the switch below decides.

The deny is recorded once: not again while the latest choice for all collaborators is already
a deny, and not over an explicit "allow" the user made on this page or in the app after the
signal was first honoured (the user's later, specific choice stands; the page says so).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from consentry.domain.jurisdiction import EEA_EXTRA, EU_COUNTRIES, country_of
from consentry.domain.purposes import TRAIN_AI_SYSTEM
from consentry.domain.types import ConsentSource, Decision
from consentry.store.consent import record_consent
from consentry.store.models import ConsentEvent

GPC_US_STATES = frozenset(
    "US-CA US-CO US-CT US-NJ US-OR US-TX US-MT US-DE US-NH US-MN US-MD".split()
)
GPC_COUNTRIES = EU_COUNTRIES | EEA_EXTRA | {"GB"}


def gpc_is_an_opt_out(jurisdiction: str) -> bool:
    code = jurisdiction.upper()
    return code in GPC_US_STATES or country_of(code) in GPC_COUNTRIES


class GpcView(BaseModel):
    signal: bool
    """The request carried ``Sec-GPC: 1``."""
    honoured: bool
    """The account's jurisdiction makes the signal an opt-out."""
    recorded_at: datetime | None = None
    """When the signal was recorded as a deny (now or earlier)."""
    message: str = ""


def apply_gpc(
    session: Session, *, account_id: str, jurisdiction: str, signal: bool, actor: str
) -> GpcView:
    """Record the signal as a deny where it is an opt-out and not already in force."""
    if not signal:
        return GpcView(signal=False, honoured=gpc_is_an_opt_out(jurisdiction))
    if not gpc_is_an_opt_out(jurisdiction):
        return GpcView(
            signal=True,
            honoured=False,
            message="Your browser sends a Global Privacy Control signal. Where you live it is "
            "not a legal opt-out by itself, so the switches below decide.",
        )
    master = list(
        session.scalars(
            select(ConsentEvent)
            .where(
                ConsentEvent.account_id == account_id,
                ConsentEvent.purpose == TRAIN_AI_SYSTEM,
                ConsentEvent.collaborator_id.is_(None),
            )
            .order_by(ConsentEvent.id)
        )
    )
    latest = master[-1] if master else None
    last_gpc = next((e for e in reversed(master) if e.source == ConsentSource.GPC), None)
    if latest is not None and latest.decision == Decision.DENY:
        at = last_gpc.recorded_at if last_gpc and latest.id == last_gpc.id else None
        return GpcView(
            signal=True,
            honoured=True,
            recorded_at=at,
            message="Your browser sends a Global Privacy Control signal; AI training is "
            "switched off for all collaborators.",
        )
    if latest is not None and last_gpc is not None and latest.id > last_gpc.id:
        return GpcView(
            signal=True,
            honoured=True,
            recorded_at=last_gpc.recorded_at,
            message="Your browser sends a Global Privacy Control signal, which we recorded as "
            f"“off” on {last_gpc.recorded_at:%Y-%m-%d}. You switched sharing on again "
            "afterwards, and that later choice stands.",
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
        message="Your browser sent a Global Privacy Control signal. Where you live this is an "
        "opt-out, so we switched AI training off for all collaborators.",
    )

"""How many of each kind of object there are: the admin overview's figures."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consentry.store.models import (
    AuditEvent,
    Base,
    Collaborator,
    DeletionNotice,
    Delivery,
    ExportJob,
    InvoiceLine,
    License,
    PolicyVersion,
)

COUNTED: tuple[type[Base], ...] = (
    PolicyVersion,
    Collaborator,
    License,
    ExportJob,
    Delivery,
    DeletionNotice,
    AuditEvent,
    InvoiceLine,
)


def row_counts(session: Session) -> dict[str, int]:
    """Rows per table name, for the tables staff look after."""
    return {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in COUNTED
    }

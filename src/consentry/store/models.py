"""The tables. Names and meanings follow DESIGN.md's domain model; the credentials and export
jobs of the service (migration 0002) are here too, so that every table has one home."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from consentry.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


class Account(Base):
    __tablename__ = "accounts"
    # The ordinal comes from the database (see ``ordinal``); reading it back in the INSERT's
    # RETURNING would see SQLite's value before its trigger set it.
    __mapper_args__ = {"eager_defaults": False}  # noqa: RUF012
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ordinal: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue(), unique=True)
    """A number of its own, given by the database when the account is created (PostgreSQL: an
    identity column; SQLite: a trigger, the greatest so far plus one) and never changed. Consent
    events carry it, so that the consent snapshot finds an event's account by position in an
    array instead of joining a million id strings (``domain.consent_snapshot``)."""
    handle: Mapped[str] = mapped_column(String(64), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    jurisdiction: Mapped[str] = mapped_column(String(8))
    birth_date: Mapped[date | None] = mapped_column(Date)
    is_minor: Mapped[bool | None] = mapped_column(Boolean)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(16))
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    reply_to: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8), default="post")  # post | reply | repost | quote
    original_id: Mapped[str | None] = mapped_column(String(64))
    """The reposted or quoted post (kinds repost and quote)."""
    deleted_at: Mapped[datetime | None]
    like_count: Mapped[int] = mapped_column(Integer, default=0)
    repost_count: Mapped[int] = mapped_column(Integer, default=0)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)


class Purpose(Base):
    __tablename__ = "purposes"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")


class PolicyVersion(Base):
    __tablename__ = "policy_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | published
    summary: Mapped[str] = mapped_column(Text, default="")
    full_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    """The policy as users read it in full, in Markdown (rendered with HTML disabled)."""
    purposes: Mapped[list[str]]
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    effective_at: Mapped[datetime | None]
    notice_days: Mapped[int] = mapped_column(Integer, default=0)
    """Days a newly listed collaborator waits before an opt-out default covers it (rule 6)."""


class PolicyDefault(Base):
    __tablename__ = "policy_defaults"
    __table_args__ = (UniqueConstraint("policy_version_id", "purpose", "jurisdiction"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"), index=True)
    purpose: Mapped[str] = mapped_column(ForeignKey("purposes.key"))
    jurisdiction: Mapped[str] = mapped_column(String(8))
    default: Mapped[str] = mapped_column(String(16))  # opt_in | opt_out | never


class Collaborator(Base):
    __tablename__ = "collaborators"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    contact: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default="active")
    dpa_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    listed_at: Mapped[datetime]
    """When users were first shown this collaborator (DESIGN rule 6)."""


class License(Base):
    __tablename__ = "licenses"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    collaborator_id: Mapped[str] = mapped_column(ForeignKey("collaborators.id"), index=True)
    purpose: Mapped[str] = mapped_column(ForeignKey("purposes.key"))
    description: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[dict[str, Any]]
    """kinds, created_from, created_until, languages, public_only, include_pre_policy_posts."""
    fields: Mapped[list[str]]
    transforms: Mapped[dict[str, Any]]
    """redact (bool), pseudonymize (bool), coarsen_timestamps (none|hour|day|month)."""
    cadence: Mapped[str] = mapped_column(String(32), default="monthly")
    term_start: Mapped[datetime]
    term_end: Mapped[datetime | None]
    price_model: Mapped[str] = mapped_column(String(16), default="per_record")
    """per_record | per_1k_tokens | flat (``domain.revenue.PRICE_MODELS``)."""
    price_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    """The unit price in the currency's minor units (cents): money is never a float."""
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    creator_share_bp: Mapped[int] = mapped_column(Integer, default=0)
    """The creators' share of each delivery's fee, in basis points (1,000 = 10%)."""
    deletion_sla_days: Mapped[int] = mapped_column(Integer, default=30)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime]


class LedgerHead(Base):
    """The last hash of each hash chain; locking its row serialises appends to the chain."""

    __tablename__ = "ledger_heads"
    chain: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class ConsentEvent(Base):
    """Append-only: the code has no update or delete path; on PostgreSQL a trigger refuses them."""

    __tablename__ = "consent_events"
    __table_args__ = (
        Index("ix_consent_events_lookup", "account_id", "purpose", "effective_at"),
        UniqueConstraint("external_id", name="uq_consent_events_external_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    account_ordinal: Mapped[int] = mapped_column(BigInteger)
    """The account's ``Account.ordinal``, written with the event (``store.ledger``); not part of
    the hashed content, as it only restates ``account_id``."""
    purpose: Mapped[str] = mapped_column(ForeignKey("purposes.key"))
    collaborator_id: Mapped[str | None] = mapped_column(ForeignKey("collaborators.id"))
    decision: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(16))
    policy_version: Mapped[str | None] = mapped_column(String(32))
    effective_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    external_id: Mapped[str | None] = mapped_column(String(128))
    """The platform's id for the event; makes re-imports idempotent."""
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(200), index=True)
    details: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class NoticeServed(Base):
    __tablename__ = "notices_served"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    policy_version: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))  # notice | change_banner
    surface: Mapped[str] = mapped_column(String(64))  # where it was shown
    shown_at: Mapped[datetime]


class Delivery(Base):
    __tablename__ = "deliveries"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    license_id: Mapped[str] = mapped_column(ForeignKey("licenses.id"), index=True)
    collaborator_id: Mapped[str] = mapped_column(ForeignKey("collaborators.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # full | delta
    previous_delivery_id: Mapped[str | None] = mapped_column(String(64))
    cutoff: Mapped[datetime]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))  # running | complete | failed
    engine: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text)
    record_count: Mapped[int] = mapped_column(BigInteger, default=0)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    manifest_signature: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[dict[str, Any]]


class DeliveryShard(Base):
    __tablename__ = "delivery_shards"
    __table_args__ = (UniqueConstraint("delivery_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)


class DeliveryMember(Base):
    """What the platform keeps of each delivered record, to propagate later withdrawals."""

    __tablename__ = "delivery_members"
    __table_args__ = (Index("ix_delivery_members_account", "account_id", "delivery_id"),)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), primary_key=True)
    post_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    record_pseudonym: Mapped[str] = mapped_column(String(64))
    basis_event_id: Mapped[int | None] = mapped_column(BigInteger)
    basis_policy_version: Mapped[str | None] = mapped_column(String(32))
    basis_default: Mapped[str | None] = mapped_column(String(16))


class ApiKey(Base):
    """A collaborator's API key; only a SHA-256 of the secret is kept."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    collaborator_id: Mapped[str] = mapped_column(ForeignKey("collaborators.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class StaffUser(Base):
    __tablename__ = "staff_users"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # viewer | admin
    created_at: Mapped[datetime]


class PlatformToken(Base):
    """A service token of the platform's backend; only a SHA-256 of the secret is kept."""

    __tablename__ = "platform_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SigninNonce(Base):
    """A used sign-in link, kept until it expires so that it cannot be used twice."""

    __tablename__ = "signin_nonces"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class WebSession(Base):
    """A signed-in user's or staff member's session; only a SHA-256 of its id (the cookie) is
    kept, so deleting the row ends the session at once (sign-out, password or role change)."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_subject", "kind", "subject"),)
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # user | staff
    subject: Mapped[str] = mapped_column(String(64))
    """The account id (user) or the staff username."""
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    zone: Mapped[str | None] = mapped_column(String(64))
    """The IANA time zone the platform's sign-in link named, for times on the user's pages."""


class ExportJob(Base):
    """An export started from the admin pages; its progress is here so every worker sees it."""

    __tablename__ = "export_jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    license_id: Mapped[str] = mapped_column(ForeignKey("licenses.id"), index=True)
    cutoff: Mapped[datetime]
    delta: Mapped[bool]
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # queued | running | complete | failed
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    delivery_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None]


class DeletionNotice(Base):
    """A collaborator is told to delete records it received; the id is the pull feed's cursor."""

    __tablename__ = "deletion_notices"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    collaborator_id: Mapped[str] = mapped_column(ForeignKey("collaborators.id"), index=True)
    license_id: Mapped[str] = mapped_column(ForeignKey("licenses.id"), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    """consent_withdrawn | post_deleted | account_deleted | account_restricted |
    post_restricted | license_ended | collaborator_terminated"""
    record_count: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime]
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="issued")  # issued | acknowledged
    acknowledged_at: Mapped[datetime | None]
    acknowledgement: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What the collaborator said when it acknowledged: e.g. the SHA-256 of rewritten shards."""


class DeletionNoticeRecord(Base):
    """One delivered record a notice asks to delete. The key is (collaborator, delivery, post),
    so a record is noticed once; on SQLite the table is clustered on it (WITHOUT ROWID), one
    b-tree fewer to write for a notice of a hundred thousand records."""

    __tablename__ = "deletion_notice_records"
    __table_args__ = (
        Index("ix_deletion_notice_records_notice", "notice_id"),
        Index("ix_deletion_notice_records_account", "account_id"),
        {"sqlite_with_rowid": False},
    )
    collaborator_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), primary_key=True)
    post_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("deletion_notices.id"))
    account_id: Mapped[str] = mapped_column(String(64))
    record_pseudonym: Mapped[str] = mapped_column(String(64))


class WebhookEndpoint(Base):
    """A collaborator's URL for signed ``notice.issued`` events (Standard Webhooks).

    The signing secret must be kept to sign, so it is stored encrypted (Fernet, key under
    ``<home>/keys``), never in plain text and never shown again after it is created."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    collaborator_id: Mapped[str] = mapped_column(ForeignKey("collaborators.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One attempt to deliver a notice's event to an endpoint; a failed attempt schedules the
    next as a new row, so the table is the delivery log."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "notice_id", "attempt"),
        Index("ix_webhook_deliveries_due", "attempted_at", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    notice_id: Mapped[int] = mapped_column(ForeignKey("deletion_notices.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    """When this attempt is due."""
    attempted_at: Mapped[datetime | None]
    """When a sender claimed and made it; None while pending."""
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]


class InvoiceLine(Base):
    """What a delivery is billed: one line per complete delivery, priced when it is billed."""

    __tablename__ = "invoice_lines"
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), primary_key=True)
    license_id: Mapped[str] = mapped_column(ForeignKey("licenses.id"))
    collaborator_id: Mapped[str] = mapped_column(String(64), index=True)
    issued_at: Mapped[datetime]
    price_model: Mapped[str] = mapped_column(String(16))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    records: Mapped[int] = mapped_column(BigInteger)
    tokens: Mapped[int] = mapped_column(BigInteger)
    """Estimated tokens of the delivered texts (``domain.revenue.estimate_tokens``)."""
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    creator_share_bp: Mapped[int] = mapped_column(Integer)
    creator_pool_minor: Mapped[int] = mapped_column(BigInteger)
    """The part of the fee shared among the contributing accounts (``CreatorEarning``)."""


class CreatorEarning(Base):
    """An account's part of a delivery's creator pool, by the tokens of its posts delivered."""

    __tablename__ = "creator_earnings"
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("invoice_lines.delivery_id"), primary_key=True
    )
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    tokens: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))

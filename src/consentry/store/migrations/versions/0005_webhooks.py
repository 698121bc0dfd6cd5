"""webhook endpoints (encrypted secrets) and the webhook delivery log

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import consentry.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_TIME = consentry.store.types.UTCDateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("collaborator_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("disabled_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["collaborator_id"],
            ["collaborators.id"],
            name=op.f("fk_webhook_endpoints_collaborator_id_collaborators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index(
        op.f("ix_webhook_endpoints_collaborator_id"), "webhook_endpoints", ["collaborator_id"]
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("endpoint_id", sa.String(length=32), nullable=False),
        sa.Column("notice_id", BIG_ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=False),
        sa.Column("attempted_at", UTC_TIME, nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("delivered_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["deletion_notices.id"],
            name=op.f("fk_webhook_deliveries_notice_id_deletion_notices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "endpoint_id", "notice_id", "attempt", name=op.f("uq_webhook_deliveries_endpoint_id")
        ),
    )
    op.create_index(op.f("ix_webhook_deliveries_notice_id"), "webhook_deliveries", ["notice_id"])
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["attempted_at", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")

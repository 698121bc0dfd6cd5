"""deletion notices and the records they name

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import consentry.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC_TIME = consentry.store.types.UTCDateTime(timezone=True)
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "deletion_notices",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("collaborator_id", sa.String(length=64), nullable=False),
        sa.Column("license_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("issued_at", UTC_TIME, nullable=False),
        sa.Column("due_at", UTC_TIME, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("acknowledged_at", UTC_TIME, nullable=True),
        sa.Column("acknowledgement", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["collaborator_id"],
            ["collaborators.id"],
            name=op.f("fk_deletion_notices_collaborator_id_collaborators"),
        ),
        sa.ForeignKeyConstraint(
            ["license_id"], ["licenses.id"], name=op.f("fk_deletion_notices_license_id_licenses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deletion_notices")),
    )
    op.create_index(
        op.f("ix_deletion_notices_collaborator_id"), "deletion_notices", ["collaborator_id"]
    )
    op.create_index(op.f("ix_deletion_notices_license_id"), "deletion_notices", ["license_id"])
    op.create_table(
        "deletion_notice_records",
        sa.Column("notice_id", BIG_ID, nullable=False),
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.String(length=64), nullable=False),
        sa.Column("collaborator_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("record_pseudonym", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["deletion_notices.id"],
            name=op.f("fk_deletion_notice_records_notice_id_deletion_notices"),
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_deletion_notice_records_delivery_id_deliveries"),
        ),
        sa.PrimaryKeyConstraint(
            "collaborator_id", "delivery_id", "post_id", name=op.f("pk_deletion_notice_records")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_deletion_notice_records_notice", "deletion_notice_records", ["notice_id"])
    op.create_index("ix_deletion_notice_records_account", "deletion_notice_records", ["account_id"])


def downgrade() -> None:
    op.drop_table("deletion_notice_records")
    op.drop_table("deletion_notices")

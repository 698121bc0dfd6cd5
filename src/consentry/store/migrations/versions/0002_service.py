"""service tables: sign-in nonces, platform tokens, export jobs

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import consentry.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_TIME = consentry.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signin_nonces",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("used_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_signin_nonces")),
    )
    op.create_index(
        op.f("ix_signin_nonces_expires_at"), "signin_nonces", ["expires_at"], unique=False
    )
    op.create_table(
        "platform_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("revoked_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_tokens")),
    )
    op.create_table(
        "export_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("license_id", sa.String(length=64), nullable=False),
        sa.Column("cutoff", UTC_TIME, nullable=False),
        sa.Column("delta", sa.Boolean(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", UTC_TIME, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["license_id"], ["licenses.id"], name=op.f("fk_export_jobs_license_id_licenses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_jobs")),
    )
    op.create_index(op.f("ix_export_jobs_license_id"), "export_jobs", ["license_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_export_jobs_license_id"), table_name="export_jobs")
    op.drop_table("export_jobs")
    op.drop_table("platform_tokens")
    op.drop_index(op.f("ix_signin_nonces_expires_at"), table_name="signin_nonces")
    op.drop_table("signin_nonces")

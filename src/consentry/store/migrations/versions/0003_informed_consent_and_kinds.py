"""informed consent per collaborator (listed_at, notice_days); post kinds and originals

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

import consentry.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC_TIME = consentry.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    # Collaborators known before this revision were shown to users when they were added.
    op.add_column("collaborators", sa.Column("listed_at", UTC_TIME, nullable=True))
    op.execute("UPDATE collaborators SET listed_at = created_at")
    with op.batch_alter_table("collaborators") as batch:
        batch.alter_column("listed_at", existing_type=UTC_TIME, nullable=False)
    op.add_column(
        "policy_versions",
        sa.Column("notice_days", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "posts", sa.Column("kind", sa.String(length=8), nullable=False, server_default="post")
    )
    op.add_column("posts", sa.Column("original_id", sa.String(length=64), nullable=True))
    op.execute("UPDATE posts SET kind = 'reply' WHERE reply_to IS NOT NULL")


def downgrade() -> None:
    op.drop_column("posts", "original_id")
    op.drop_column("posts", "kind")
    op.drop_column("policy_versions", "notice_days")
    with op.batch_alter_table("collaborators") as batch:
        batch.drop_column("listed_at")

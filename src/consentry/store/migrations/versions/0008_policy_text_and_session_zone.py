"""a policy version's full text (Markdown) and the viewer's time zone a sign-in link passes,
remembered for the session

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policy_versions") as batch:
        batch.add_column(sa.Column("full_text", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("web_sessions") as batch:
        batch.add_column(sa.Column("zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_column("zone")
    with op.batch_alter_table("policy_versions") as batch:
        batch.drop_column("full_text")

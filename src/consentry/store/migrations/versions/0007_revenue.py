"""revenue: license prices in integer minor units with a creator share, invoice lines per
delivery, creators' earnings

Revision ID: 0007
Revises: 0006
"""

import logging
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from alembic import op
from babel.numbers import get_currency_precision

import consentry.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC_TIME = consentry.store.types.UTCDateTime(timezone=True)
LOG = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    with op.batch_alter_table("licenses") as batch:
        batch.add_column(
            sa.Column("price_minor", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("creator_share_bp", sa.Integer(), nullable=False, server_default="0")
        )
    licenses = sa.table(
        "licenses",
        sa.column("id", sa.String),
        sa.column("price", sa.Double),
        sa.column("price_minor", sa.BigInteger),
        sa.column("price_model", sa.String),
        sa.column("currency", sa.String),
    )
    conn = op.get_bind()
    for row in conn.execute(sa.select(licenses)).all():
        # A float price becomes exact minor units of its currency; a price per token becomes a
        # price per 1,000 tokens (the model that replaces it).
        per_token = row.price_model == "per_token"
        units = Decimal(str(row.price)) * (1000 if per_token else 1)
        exact = units * 10 ** get_currency_precision(row.currency)
        minor = exact.quantize(Decimal(1), ROUND_HALF_UP)
        if minor != exact:
            LOG.warning(
                "license %s: price %s %s is not a whole number of minor units; kept as %s",
                row.id,
                units,
                row.currency,
                minor,
            )
        conn.execute(
            licenses.update()
            .where(licenses.c.id == row.id)
            .values(
                price_minor=int(minor),
                price_model="per_1k_tokens" if per_token else row.price_model,
            )
        )
    with op.batch_alter_table("licenses") as batch:
        batch.drop_column("price")
    op.create_table(
        "invoice_lines",
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("license_id", sa.String(length=64), nullable=False),
        sa.Column("collaborator_id", sa.String(length=64), nullable=False),
        sa.Column("issued_at", UTC_TIME, nullable=False),
        sa.Column("price_model", sa.String(length=16), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("creator_share_bp", sa.Integer(), nullable=False),
        sa.Column("creator_pool_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"], name=op.f("fk_invoice_lines_delivery_id_deliveries")
        ),
        sa.ForeignKeyConstraint(
            ["license_id"], ["licenses.id"], name=op.f("fk_invoice_lines_license_id_licenses")
        ),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_invoice_lines")),
    )
    op.create_index(op.f("ix_invoice_lines_collaborator_id"), "invoice_lines", ["collaborator_id"])
    op.create_table(
        "creator_earnings",
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["invoice_lines.delivery_id"],
            name=op.f("fk_creator_earnings_delivery_id_invoice_lines"),
        ),
        sa.PrimaryKeyConstraint("delivery_id", "account_id", name=op.f("pk_creator_earnings")),
    )
    op.create_index(op.f("ix_creator_earnings_account_id"), "creator_earnings", ["account_id"])


def downgrade() -> None:
    op.drop_table("creator_earnings")
    op.drop_table("invoice_lines")
    with op.batch_alter_table("licenses") as batch:
        batch.add_column(sa.Column("price", sa.Double(), nullable=False, server_default="0"))
    licenses = sa.table(
        "licenses",
        sa.column("id", sa.String),
        sa.column("price", sa.Double),
        sa.column("price_minor", sa.BigInteger),
        sa.column("price_model", sa.String),
        sa.column("currency", sa.String),
    )
    conn = op.get_bind()
    for row in conn.execute(sa.select(licenses)).all():
        per_1k = row.price_model == "per_1k_tokens"
        units = Decimal(row.price_minor).scaleb(-get_currency_precision(row.currency))
        conn.execute(
            licenses.update()
            .where(licenses.c.id == row.id)
            .values(
                price=float(units / 1000 if per_1k else units),
                price_model="per_token" if per_1k else row.price_model,
            )
        )
    with op.batch_alter_table("licenses") as batch:
        batch.drop_column("creator_share_bp")
        batch.drop_column("price_minor")

"""``consentry invoices``: the invoice line of each delivery, and the creators' share of it."""

from __future__ import annotations

import csv
import sys

import typer
from rich.table import Table

from consentry.cli.app import app, console, engine, fails_cleanly
from consentry.domain.revenue import PRICE_MODELS
from consentry.errors import InvalidInput
from consentry.revenue.billing import bill_pending
from consentry.revenue.money import money
from consentry.settings import get_settings
from consentry.store.db import session_scope
from consentry.store.invoices import (
    CSV_COLUMNS,
    earnings_of_delivery,
    get_invoice_line,
    invoice_rows,
    list_invoice_lines,
)

invoices_app = typer.Typer(
    help="Invoice lines per delivery and creator shares.", no_args_is_help=True
)
app.add_typer(invoices_app, name="invoices")


@invoices_app.command("bill")
@fails_cleanly
def bill() -> None:
    """Bill every complete delivery that has no invoice line yet (exports do it themselves)."""
    billed = bill_pending(engine(), home=get_settings().home, actor="cli")
    console.print(f"billed {len(billed)} deliveries" + (f": {', '.join(billed)}" if billed else ""))


@invoices_app.command("list")
@fails_cleanly
def invoices_list(
    collaborator: str = typer.Option(None, help="Only this collaborator's invoice lines."),
    format: str = typer.Option("table", "--format", help="table or csv."),
) -> None:
    """Invoice lines, one per delivery, oldest first."""
    if format not in ("table", "csv"):
        raise InvalidInput(f"expected table or csv, got {format!r}", field="--format")
    with session_scope(engine()) as session:
        lines = list_invoice_lines(session, collaborator_id=collaborator)
        if format == "csv":
            writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(invoice_rows(session))
            return
        table = Table(
            "delivery",
            "collaborator",
            "license",
            "cut-off",
            "model",
            "records",
            "tokens",
            "amount",
            "creators' share",
        )
        for line, delivery in lines:
            table.add_row(
                line.delivery_id,
                line.collaborator_id,
                line.license_id,
                f"{delivery.cutoff:%Y-%m-%d}",
                line.price_model,
                f"{line.records:,}",
                f"{line.tokens:,}",
                money(line.amount_minor, line.currency),
                money(line.creator_pool_minor, line.currency),
            )
    console.print(table)


@invoices_app.command("show")
@fails_cleanly
def invoices_show(
    delivery: str, earnings: bool = typer.Option(False, help="Each account's share.")
) -> None:
    """One delivery's invoice line: how its fee was computed, and the creators' share."""
    with session_scope(engine()) as session:
        line, row = get_invoice_line(session, delivery)
        console.print(
            f"[bold]Delivery {line.delivery_id}[/bold] to {line.collaborator_id} "
            f"under {line.license_id}, cut-off {row.cutoff:%Y-%m-%d}"
        )
        unit = money(line.unit_price_minor, line.currency)
        console.print(f"price: {unit} {PRICE_MODELS[line.price_model]}")
        console.print(f"records: {line.records:,}; tokens (estimated): {line.tokens:,}")
        console.print(f"amount: {money(line.amount_minor, line.currency)}")
        console.print(
            f"creators' share: {line.creator_share_bp / 100:g}% = "
            f"{money(line.creator_pool_minor, line.currency)}"
        )
        if earnings:
            table = Table("account", "tokens", "earned")
            for e in earnings_of_delivery(session, line.delivery_id):
                table.add_row(e.account_id, f"{e.tokens:,}", money(e.amount_minor, e.currency))
            console.print(table)

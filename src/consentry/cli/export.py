"""``consentry export`` and ``consentry deliveries``: make deliveries and look at them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from consentry.cli.app import CLI_ACTOR, app, console, engine, fails_cleanly, parse_time
from consentry.errors import InvalidInput
from consentry.pipeline.engines import Engine
from consentry.pipeline.export import ExportResult, run_export
from consentry.pipeline.sources import SourceSpec
from consentry.settings import get_settings
from consentry.store.db import session_scope
from consentry.store.deliveries import (
    completed_shards,
    get_delivery,
    list_deliveries,
    members_of,
)

deliveries_app = typer.Typer(help="Deliveries made to collaborators.", no_args_is_help=True)
app.add_typer(deliveries_app, name="deliveries")


def export_with_progress(**kwargs: Any) -> ExportResult:
    """Run an export with a Rich progress bar showing records/s."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} posts/s"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(f"export {kwargs['license_id']}", total=None, rate="-")

        def progress(done: int, total: int) -> None:
            elapsed = bar.tasks[task].elapsed or 0
            rate = f"{done / elapsed:,.0f}" if elapsed else "-"
            bar.update(task, completed=done, total=total, rate=rate)

        return run_export(engine(), get_settings(), progress=progress, actor=CLI_ACTOR, **kwargs)


@app.command("export")
@fails_cleanly
def export(
    license: str = typer.Option(..., "--license", help="License to deliver under."),
    out: Path = typer.Option(..., "--out", help="Directory for the delivery."),
    cutoff: str = typer.Option(None, help="Cut-off time (ISO 8601 with zone); default now."),
    delta: bool = typer.Option(False, help="Only what is new since the previous delivery."),
    resume: bool = typer.Option(False, help="Finish an interrupted delivery in --out."),
    force: bool = typer.Option(False, help="Replace whatever is in --out."),
    shard_rows: int = typer.Option(524_288, help="Records per shard (multiple of 65,536)."),
    threads: int = typer.Option(None, help="Worker threads; default one per core (max 4)."),
    source: str = typer.Option(
        "store",
        "--source",
        help="Where posts are read: store (Consentry's database), parquet:PATH (a file or "
        "directory) or delta:PATH (a Delta table). Accounts and consent always come from the "
        "store.",
    ),
    column: list[str] = typer.Option(
        [],
        "--column",
        help="POST_COLUMN=LAKE_COLUMN for a lake table whose names differ, e.g. "
        "--column text=body --column account_id=author_id (repeatable).",
    ),
    engine_name: str = typer.Option(
        "embedded",
        "--engine",
        help="embedded (this machine, threads) or spark (pip install 'consentry[spark]').",
    ),
    master: str = typer.Option(
        None,
        "--master",
        help="Spark master URL for --engine spark; default the spark-submit one, else local[2].",
    ),
) -> None:
    """Export the posts a license may receive, consent-filtered, redacted and signed."""
    spec = SourceSpec.parse(source, column)
    executor: Engine | None = None
    if engine_name == "spark":
        from consentry.pipeline.engines.spark import SparkEngine

        executor = SparkEngine(master=master)
    elif engine_name != "embedded":
        raise InvalidInput(f"expected embedded or spark, got {engine_name!r}", field="--engine")
    elif master:
        raise InvalidInput("--master is for --engine spark", field="--master")
    result = export_with_progress(
        license_id=license,
        cutoff=parse_time(cutoff, "--cutoff") if cutoff else None,
        out_dir=out,
        delta=delta,
        resume=resume,
        force=force,
        shard_rows=shard_rows,
        threads=threads,
        source=spec,
        executor=executor,
    )
    print_result(result)


def print_result(result: ExportResult) -> None:
    counts = result.counts
    table = Table(title=f"Delivery {result.delivery_id}", show_header=False)
    table.add_row("posts scanned", f"{counts.scanned:,}")
    table.add_row("in scope", f"{counts.in_scope:,}")
    for reason, n in counts.excluded.items():
        table.add_row(f"  excluded: {reason}", f"{n:,}")
    if counts.previously_delivered:
        table.add_row("previously delivered", f"{counts.previously_delivered:,}")
    table.add_row("[bold]delivered[/bold]", f"[bold]{counts.delivered:,}[/bold]")
    table.add_row("shards", str(result.shards))
    table.add_row("throughput", f"{result.records_per_second:,.0f} posts/s")
    table.add_row("path", str(result.path))
    console.print(table)


@deliveries_app.command("list")
@fails_cleanly
def deliveries_list(collaborator: str = typer.Option(None, help="Only this collaborator.")) -> None:
    """List deliveries, newest first."""
    table = Table("id", "license", "collaborator", "kind", "cut-off", "status", "records", "path")
    with session_scope(engine()) as session:
        for d in list_deliveries(session, collaborator_id=collaborator):
            table.add_row(
                d.id,
                d.license_id,
                d.collaborator_id,
                d.kind,
                d.cutoff.isoformat(),
                d.status,
                f"{d.record_count:,}",
                d.path,
            )
    console.print(table)


@deliveries_app.command("show")
@fails_cleanly
def deliveries_show(
    delivery: str,
    members: bool = typer.Option(False, help="Write the membership as JSONL (platform only)."),
    output: Path = typer.Option(None, "--output", help="File for --members; default stdout."),
) -> None:
    """Show one delivery; with --members, what the platform keeps of each delivered record."""
    with session_scope(engine()) as session:
        d = get_delivery(session, delivery)
        if members:
            rows = members_of(session, delivery)
            sink = output.open("w") if output else sys.stdout
            try:
                for m in rows:
                    basis = (
                        {"event_id": m.basis_event_id}
                        if m.basis_event_id is not None
                        else {"policy_version": m.basis_policy_version, "default": m.basis_default}
                    )
                    sink.write(
                        json.dumps(
                            {
                                "post_id": m.post_id,
                                "account_id": m.account_id,
                                "record_pseudonym": m.record_pseudonym,
                                "consent_basis": basis,
                            }
                        )
                        + "\n"
                    )
            finally:
                if output:
                    sink.close()
            return
        shards = completed_shards(session, delivery)
        console.print_json(
            data={
                "id": d.id,
                "license": d.license_id,
                "collaborator": d.collaborator_id,
                "kind": d.kind,
                "previous_delivery": d.previous_delivery_id,
                "cutoff": d.cutoff.isoformat(),
                "started_at": d.started_at.isoformat(),
                "finished_at": d.finished_at.isoformat() if d.finished_at else None,
                "status": d.status,
                "engine": d.engine,
                "path": d.path,
                "records": d.record_count,
                "counts": d.counts,
                "manifest_sha256": d.manifest_sha256,
                "shards": [{"name": s.name, "rows": s.rows, "sha256": s.sha256} for s in shards],
            }
        )

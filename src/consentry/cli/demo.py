"""``consentry demo-data`` and ``consentry demo``: a synthetic platform, loaded and summarised."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from consentry.cli.app import CLI_ACTOR, app, console, engine, fails_cleanly
from consentry.cli.consent import summary_table
from consentry.cli.export import export_with_progress
from consentry.cli.setup import init
from consentry.demo.load import KINDS, LoadReport, load
from consentry.demo.scenario import PERSONALIZE, TRAIN_AI_SYSTEM
from consentry.demo.synthetic import DemoFiles, generate
from consentry.errors import IntegrityFailure, NotFound
from consentry.pipeline.export import ExportResult
from consentry.pipeline.keys import signing_key
from consentry.pipeline.sources import SourceSpec
from consentry.pipeline.verify import verify_delivery
from consentry.settings import get_settings
from consentry.store.consent import now
from consentry.store.db import session_scope
from consentry.store.parties import add_license, get_license

GENERATE_STEPS = ("accounts", "posts", "consent", "write")
LOAD_STEPS = ("policies", *KINDS)
SUMMARY_PURPOSES = (TRAIN_AI_SYSTEM, PERSONALIZE)

ACCOUNTS_OPTION = typer.Option(2_000, min=2, help="Number of accounts.")
POSTS_OPTION = typer.Option(20_000, min=1, help="Number of posts.")
SEED_OPTION = typer.Option(7, help="Random seed; the same seed gives the same files.")


@contextmanager
def _steps(title: str, steps: tuple[str, ...]) -> Iterator[Callable[[str], None]]:
    """A progress bar over named steps; yields the callback that starts the next one."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(title, total=len(steps))
        started: list[str] = []

        def advance(name: str) -> None:
            if started:
                progress.advance(task)
            started.append(name)
            progress.update(task, description=f"{title}: {name}")

        yield advance
        progress.update(task, completed=len(steps), description=f"{title}: done")


def write_and_load(*, accounts: int, posts: int, seed: int, out: Path | None) -> DemoFiles:
    """Write the Parquet files, load them, and print what was written and what was new."""
    out = out or get_settings().home / "demo"
    started = time.perf_counter()
    with _steps("generating", GENERATE_STEPS) as step:
        files = generate(out, accounts=accounts, posts=posts, seed=seed, on_step=step)
    generated = time.perf_counter() - started
    with _steps("loading", LOAD_STEPS) as step:
        report = load(engine(), files, actor=CLI_ACTOR, on_step=step)
    loaded = time.perf_counter() - started - generated
    console.print(_load_table(files, report))
    console.print(
        f"policies added: {', '.join(report.policies_added) or 'none (already there)'}; "
        f"collaborators added: {', '.join(report.collaborators_added) or 'none (already there)'}"
    )
    console.print(
        f"files in {out.resolve()}; generated in {generated:.1f}s, loaded in {loaded:.1f}s"
    )
    return files


def _load_table(files: DemoFiles, report: LoadReport) -> Table:
    table = Table("file", "rows", "inserted", "updated", "unchanged", title="Synthetic platform")
    for kind in KINDS:
        done = report.imports[kind]
        table.add_row(
            getattr(files, kind).name,
            *(f"{n:,}" for n in (done.rows_read, done.inserted, done.updated, done.unchanged)),
        )
    return table


@app.command("demo-data")
@fails_cleanly
def demo_data(
    accounts: int = ACCOUNTS_OPTION,
    posts: int = POSTS_OPTION,
    seed: int = SEED_OPTION,
    out: Path = typer.Option(None, help="Where to write the files; default CONSENTRY_HOME/demo."),
) -> None:
    """Write a synthetic platform as Parquet (accounts, posts, consent history) and load it."""
    init()
    write_and_load(accounts=accounts, posts=posts, seed=seed, out=out)


DEMO_LICENSES: tuple[dict[str, Any], ...] = (
    {
        "id": "northwind-train-all",
        "collaborator_id": "northwind-ai",
        "description": "Northwind AI trains a general assistant on public posts and replies.",
        "scope": {"kinds": ["post", "reply"], "public_only": True},
        "transforms": {"coarsen_timestamps": "day"},
        "price_model": "per_1k_tokens",
        "price_minor": 40,
        "creator_share_bp": 1_000,
    },
    {
        "id": "lumen-en-posts",
        "collaborator_id": "lumen-labs",
        "description": "Lumen Labs trains an English writing model on recent public posts.",
        "scope": {
            "kinds": ["post"],
            "languages": ["en"],
            "created_from": "2024-09-01T00:00:00+00:00",
            "public_only": True,
        },
        "transforms": {"coarsen_timestamps": "month"},
        "price_model": "flat",
        "price_minor": 2_500_000,
    },
)
LICENSE_TERM_START = datetime(2024, 10, 16, tzinfo=UTC)


def ensure_demo_licenses() -> None:
    """The two licenses of the demo, of different scope (kept if they exist)."""
    with session_scope(engine()) as session:
        for spec in DEMO_LICENSES:
            try:
                get_license(session, spec["id"])
            except NotFound:
                add_license(
                    session,
                    purpose=TRAIN_AI_SYSTEM,
                    term_start=LICENSE_TERM_START,
                    actor=CLI_ACTOR,
                    **spec,
                )


def export_demo_licenses(posts_lake: Path) -> list[ExportResult]:
    """Export each demo license at now into CONSENTRY_HOME/deliveries and verify it; then the
    first again with its posts read from the lake (the demo's posts Parquet file) instead of
    the store, which must deliver the very same records."""
    results = []
    stamp = f"{now():%Y%m%dT%H%M%SZ}"
    runs: list[tuple[str, str, SourceSpec | None]] = [
        (spec["id"], spec["id"], None) for spec in DEMO_LICENSES
    ]
    first = DEMO_LICENSES[0]["id"]
    runs.append((first, f"{first}-lake", SourceSpec.parse(f"parquet:{posts_lake}")))
    for license_id, name, source in runs:
        out = get_settings().home / "deliveries" / f"{name}-{stamp}"
        result = export_with_progress(
            license_id=license_id, cutoff=None, out_dir=out, source=source
        )
        report = verify_delivery(out, signing_key(get_settings().home).public_key())
        if not report.ok:
            raise IntegrityFailure(f"{out} does not verify: {'; '.join(report.problems)}")
        console.print(
            f"[green]verified[/green] {out} (signature, {result.shards} shard hashes, counts)"
        )
        results.append(result)
    if _record_ids(results[0].path) != _record_ids(results[-1].path):
        raise IntegrityFailure(
            f"the export from the lake ({results[-1].path}) delivered other records than the "
            f"export from the store ({results[0].path})"
        )
    console.print("[green]same records[/green] from the store and from the Parquet lake")
    return results


def _record_ids(delivery: Path) -> list[str]:
    return [
        record_id
        for shard in sorted(delivery.glob("*.parquet"))
        for record_id in pq.read_table(shard, columns=["record_id"])["record_id"].to_pylist()
    ]


def _exports_table(results: list[ExportResult]) -> Table:
    table = Table("", *(r.delivery_id for r in results), title="Deliveries")
    rows: list[tuple[str, list[str]]] = [
        ("posts scanned", [f"{r.counts.scanned:,}" for r in results]),
        ("in scope", [f"{r.counts.in_scope:,}" for r in results]),
    ]
    for reason in results[0].counts.excluded:
        rows.append((f"excluded: {reason}", [f"{r.counts.excluded[reason]:,}" for r in results]))
    rows += [
        ("[bold]delivered[/bold]", [f"[bold]{r.counts.delivered:,}[/bold]" for r in results]),
        ("shards", [str(r.shards) for r in results]),
        ("throughput (posts/s)", [f"{r.records_per_second:,.0f}" for r in results]),
        ("where", [str(r.path) for r in results]),
    ]
    for label, values in rows:
        table.add_row(label, *values)
    return table


@app.command()
@fails_cleanly
def demo(
    accounts: int = ACCOUNTS_OPTION,
    posts: int = POSTS_OPTION,
    seed: int = SEED_OPTION,
) -> None:
    """The main job on the embedded defaults: demo platform, two licenses, signed exports."""
    init()
    files = write_and_load(accounts=accounts, posts=posts, seed=seed, out=None)
    moment = now()
    for purpose in SUMMARY_PURPOSES:
        console.print(summary_table(engine(), purpose, when=moment, as_of=moment))
    ensure_demo_licenses()
    results = export_demo_licenses(files.posts)
    console.print(_exports_table(results))

"""``consentry demo-data`` and ``consentry demo``: a synthetic platform, loaded and summarised."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from consentry.cli.app import CLI_ACTOR, app, console, engine, fails_cleanly
from consentry.cli.consent import summary_table
from consentry.cli.setup import init
from consentry.demo.load import KINDS, LoadReport, load
from consentry.demo.scenario import PERSONALIZE, TRAIN_AI_SYSTEM
from consentry.demo.synthetic import DemoFiles, generate
from consentry.settings import get_settings
from consentry.store.consent import now

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


@app.command()
@fails_cleanly
def demo(
    accounts: int = ACCOUNTS_OPTION,
    posts: int = POSTS_OPTION,
    seed: int = SEED_OPTION,
) -> None:
    """The main job on the embedded defaults: init, demo data, consent state per jurisdiction."""
    init()
    write_and_load(accounts=accounts, posts=posts, seed=seed, out=None)
    moment = now()
    for purpose in SUMMARY_PURPOSES:
        console.print(summary_table(engine(), purpose, when=moment, as_of=moment))

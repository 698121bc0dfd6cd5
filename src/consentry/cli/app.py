"""The Typer application and what every command shares: settings, engine, errors, output."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import typer
from rich.console import Console

from consentry.errors import ConsentryError
from consentry.settings import get_settings
from consentry.store.db import get_engine

app = typer.Typer(
    name="consentry",
    help="Consentry: consent-aware licensing of users' posts for AI training.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

CLI_ACTOR = "cli"


def print_value(value: str) -> None:
    """Print what a script reads (a link, a key, a secret) on a line of its own: never wrapped
    at the terminal's width, never styled."""
    console.print(value, soft_wrap=True, markup=False, highlight=False)


def engine():  # type: ignore[no-untyped-def]
    return get_engine(get_settings())


def fails_cleanly(func: F) -> F:
    """Turn a ConsentryError into one red line and exit code 1 instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConsentryError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc

    return wrapper  # type: ignore[return-value]


def parse_time(value: str, option: str) -> datetime:
    """An ISO 8601 time with a zone, or a clear error naming the option."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=option) from exc
    if moment.tzinfo is None:
        raise typer.BadParameter(
            f"{value!r} has no time zone; add 'Z' or '+00:00'", param_hint=option
        )
    return moment

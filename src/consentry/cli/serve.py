"""``consentry serve``: the web service (pages and APIs) on the same storage as the CLI."""

from __future__ import annotations

import typer
import uvicorn

from consentry.cli.app import app, console, engine, fails_cleanly
from consentry.settings import get_settings
from consentry.store.db import session_scope
from consentry.store.policies import ensure_builtin_purposes
from consentry.store.schema import upgrade


@app.command()
@fails_cleanly
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Server processes (one per core is plenty)."),
    get: str = typer.Option(
        None, help="Answer one GET request for this path in-process, print it and exit."
    ),
    access_log: bool = typer.Option(True, help="Log every request (off for benchmarks)."),
) -> None:
    """Serve the settings page, the admin pages and the platform and collaborator APIs."""
    from consentry.service.app import create_app

    db = engine()
    upgrade(db)
    with session_scope(db) as session:
        ensure_builtin_purposes(session)
    application = create_app(get_settings(), engine=db)  # checks the secrets before listening
    if get:
        import httpx

        from consentry.service.background import running

        with running(application) as url:
            response = httpx.get(url + get, timeout=60)
        console.print(response.text, markup=False, highlight=False)
        raise typer.Exit(0 if response.status_code < 400 else 1)
    console.print(f"serving on http://{host}:{port} ({workers} worker(s)); Ctrl-C stops")
    uvicorn.run(
        "consentry.service.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        # Forwarding headers are believed only from CONSENTRY_FORWARDED_ALLOW_IPS, by the
        # app's own ProxyHeadersMiddleware (uvicorn's would trust 127.0.0.1 by default).
        proxy_headers=False,
        # A worker imports the whole app before it answers; on a busy machine that takes a
        # while, and uvicorn would otherwise kill and restart it over and over.
        timeout_worker_healthcheck=60,
    )

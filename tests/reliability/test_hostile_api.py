"""Hostile input to the APIs: schemathesis (its CLI, every check) against the running service's
OpenAPI document, per credential kind (platform token, collaborator key, a user's session), with
real ids in the paths, run again with the next seed until the kind has had the scale's number of
requests. No answer is a server error, and no answer carries a stack trace. Every request and
answer is kept in HAR files under the test's directory."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from consentry.service.app import create_app
from consentry.service.background import running
from consentry.service.deps import USER_COOKIE
from consentry.store.credentials import create_api_key, create_platform_token
from consentry.store.db import session_scope
from reliability.harness import Scale
from service.notices_world import issue
from service.world import Service, seed_deliveries, seed_world, service_settings, sign_in

KINDS = {
    # kind: (paths it is let loose on, path parameters with real ids of its own)
    "platform": ("^/api/platform/", {"account_id": "bob", "post_id": "bob-1"}),
    "collaborator": (
        "^/api/collaborator/",
        {"delivery_id": "d-acme-1", "name": "part-00000.parquet", "notice_id": "NOTICE"},
    ),
    "user": ("^/api/me/", {"event_id": "EVENT"}),
}
SEED = 20261202
MAX_RUNS = 40
TRACE_MARKERS = ("Traceback (most recent call last)", 'File "/', "sqlalchemy.exc", "psycopg.")


@pytest.fixture
def service(sqlite_engine: Engine, tmp_path: Path) -> Iterator[tuple[Service, dict[str, str]]]:
    seed_world(sqlite_engine)
    seed_deliveries(sqlite_engine, tmp_path / "deliveries")
    settings = service_settings(tmp_path / "home", sqlite_engine, auth_failure_limit=1_000_000)
    ids = {"NOTICE": str(issue(sqlite_engine, "d-acme-1", ["bob-1"]))}
    with session_scope(sqlite_engine) as session:
        ids["platform"] = create_platform_token(session, name="fuzz", actor="t")[1]
        ids["collaborator"] = create_api_key(
            session, collaborator_id="acme", scopes=None, actor="t"
        )[1]
    app = create_app(settings, engine=sqlite_engine)
    with running(app) as url:
        service = Service(url, sqlite_engine, settings, app)
        with service.client(headers={"Authorization": f"Bearer {ids['platform']}"}) as client:
            event = client.post(
                "/api/platform/consent-events", json={"account_id": "bob", "decision": "allow"}
            )
            ids["EVENT"] = str(event.json()["id"])
        with sign_in(service, "bob") as user:
            ids["user"] = user.cookies[USER_COOKIE]
        yield service, ids
    app.state.propagator.wait_idle()
    app.state.reader.dispose()


def _header(kind: str, ids: dict[str, str]) -> str:
    if kind == "user":
        return f"Cookie: {USER_COOKIE}={ids['user']}"
    return f"Authorization: Bearer {ids[kind]}"


def _config(path: Path, parameters: dict[str, str], ids: dict[str, str]) -> Path:
    lines = ["[parameters]"]
    lines += [f'"path.{name}" = "{ids.get(value, value)}"' for name, value in parameters.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_no_server_error_and_no_stack_trace_under_schemathesis(
    service: tuple[Service, dict[str, str]],
    kind: str,
    tmp_path: Path,
    scale: Scale,
    figures: dict[str, Any],
) -> None:
    served, ids = service
    paths, parameters = KINDS[kind]
    config = _config(tmp_path / "schemathesis.toml", parameters, ids)
    entries: list[dict[str, Any]] = []
    runs = 0
    while len(entries) < scale.api_requests and runs < MAX_RUNS:
        har = tmp_path / f"requests-{runs}.har"
        done = subprocess.run(
            [
                sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
                f"{served.url}/openapi.json", "--url", served.url,
                "--checks", "all", "--include-path-regex", paths,
                "--header", _header(kind, ids), "--max-examples", str(scale.api_examples),
                "--seed", str(SEED + runs), "--workers", "1", "--no-color",
                "--report", "har", "--report-har-path", str(har),
            ],
            capture_output=True, text=True, cwd=tmp_path,
        )  # fmt: skip
        assert har.exists(), done.stdout[-4000:] + done.stderr[-2000:]
        (tmp_path / f"schemathesis-{runs}.txt").write_text(done.stdout)
        entries += json.loads(har.read_text())["log"]["entries"]
        runs += 1
    statuses = [e["response"]["status"] for e in entries]
    errors = [
        f"{e['request']['method']} {e['request']['url']} -> {e['response']['status']}"
        for e in entries
        if e["response"]["status"] >= 500
    ]
    traces = [
        f"{e['request']['method']} {e['request']['url']}"
        for e in entries
        if any(m in e["response"]["content"].get("text", "") for m in TRACE_MARKERS)
    ]
    summary = [line for line in done.stdout.splitlines() if line.strip()][-40:]
    figures.update(
        credential=kind,
        requests=len(entries),
        schemathesis_runs=runs,
        server_errors=errors,
        stack_traces=traces,
        status_counts={str(s): statuses.count(s) for s in sorted(set(statuses))},
        schemathesis_exit=done.returncode,
        schemathesis_summary=summary,
    )
    assert len(entries) >= scale.api_requests, "\n".join(summary)
    assert not errors, "\n".join(errors[:20])
    assert not traces, "\n".join(traces[:20])

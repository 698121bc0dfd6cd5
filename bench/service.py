"""Benchmark: the service under load on loopback, on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.service [--accounts 20000] [--posts 200000] [--seconds 10]

``consentry serve`` runs in its own process (2 uvicorn workers for 2 cores, no access log) over
the synthetic demo platform. Load comes from ``wrk`` (Debian's package, a Lua script for the
POST bodies) for single "may share?" checks at a fixed concurrency, and from threads of httpx
clients for bulk checks and consent writes. Every phase is bounded in time or count and only
talks to 127.0.0.1. The baselines in the same run are ``GET /api/health`` (the framework with no
database work) from wrk, and from the writers' 8 httpx clients, so ratios hold on a busy
machine; the load generators share the 2 cores, and the CPU they used is reported. After the
writes, ``consentry audit verify`` must pass and the ledger must hold every event sent.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import pyarrow.parquet as pq
from sqlalchemy import create_engine, func, select, text

RESULTS = Path(__file__).parent / "results"
POSTGRES_URL = os.environ.get(
    "CONSENTRY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SECRETS = {
    "CONSENTRY_PLATFORM_SECRET": "bench-platform-secret-0123456789abcdefghij",
    "CONSENTRY_SESSION_SECRET": "bench-session-secret-0123456789abcdefghij",
}
CONSENTRY = str(Path(sys.executable).with_name("consentry"))
APPLICATION_NAME = f"consentry-bench-{os.getpid()}"
"""The bench server's PostgreSQL connections carry it, so their backends' CPU can be read."""
CONCURRENCY = 16
BULK_ITEMS = 10_000
WRITERS = 8

WRK_SCRIPT = """
local ids = {%(ids)s}
local collaborators = {"northwind-ai", "lumen-labs"}
math.randomseed(7)
wrk.method = "%(method)s"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function()
  if wrk.method == "GET" then return wrk.format(nil, "%(path)s") end
  local body = string.format('{"post_id":"%%s","collaborator_id":"%%s"}',
    ids[math.random(#ids)], collaborators[math.random(2)])
  return wrk.format(nil, "%(path)s", nil, body)
end
%(done)s"""

WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('RESULT {"requests": %d, "seconds": %.3f, "errors": %d, ' ..
    '"non_2xx": %d, "p50_ms": %.3f, "p99_ms": %.3f}\\n', summary.requests,
    summary.duration / 1e6, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3))
end
"""

WRK_WRITES = """
local accounts = {%(accounts)s}
local run = "%(run)s"
sent, created = 0, 0  -- globals: done() reads them with thread:get
math.randomseed(11)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function()
  sent = sent + 1
  local decision = "deny"
  if math.random(2) == 1 then decision = "allow" end
  local body = string.format('{"account_id":"%%s","decision":"%%s","external_id":"bench-%%s-%%d"}',
    accounts[math.random(#accounts)], decision, run, sent)
  return wrk.format(nil, "/api/platform/consent-events", nil, body)
end
response = function(status, headers, body)
  if status == 201 then created = created + 1 end
end
"""
"""Consent events with distinct external ids, generated in Lua (one wrk thread), so the load
generator costs little CPU; ``created`` counts the 201 answers (the acknowledged writes)."""

WRK_WRITES_DONE = """
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local e, created = summary.errors, 0
  local sent = 0
  for _, t in ipairs(threads) do
    created, sent = created + t:get("created"), sent + t:get("sent")
  end
  io.write(string.format('RESULT {"requests": %d, "seconds": %.3f, "errors": %d, ' ..
    '"non_2xx": %d, "p50_ms": %.3f, "p99_ms": %.3f, "created": %d, "sent": %d}\\n',
    summary.requests,
    summary.duration / 1e6, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, created, sent))
end
"""


def prepare(url: str, home: Path, data: Path, accounts: int, posts: int) -> str:
    """Load the demo platform (generated once into ``data``); add licenses and a token."""
    from consentry.demo.load import load
    from consentry.demo.synthetic import generate
    from consentry.store.credentials import create_platform_token
    from consentry.store.db import make_engine, session_scope
    from consentry.store.parties import add_license
    from consentry.store.policies import ensure_builtin_purposes
    from consentry.store.schema import upgrade

    files = generate(data, accounts=accounts, posts=posts, seed=7)
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as session:
        ensure_builtin_purposes(session)
    load(engine, files, actor="bench")
    with session_scope(engine) as session:
        for collaborator in ("northwind-ai", "lumen-labs"):
            add_license(
                session,
                id=f"bench-{collaborator}",
                collaborator_id=collaborator,
                purpose="train_ai_system",
                scope={"kinds": ["post", "reply"]},
                term_start=datetime(2024, 1, 1, tzinfo=UTC),
                actor="bench",
            )
        token = create_platform_token(session, name="bench", actor="bench")[1]
    engine.dispose()
    return token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``consentry serve`` in a child process, stopped on exit."""

    def __init__(self, url: str, home: Path, workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **SECRETS, "CONSENTRY_HOME": str(home)}
        self.env["CONSENTRY_DATABASE_URL"] = url
        args = ["serve", "--port", str(self.port), "--workers", str(workers), "--no-access-log"]
        self.log = (home / "server.log").open("w")
        self.process = subprocess.Popen(
            [CONSENTRY, *args], env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def __enter__(self) -> Server:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(f"{self.base}/api/health", timeout=1).status_code == 200:
                    time.sleep(5.0)  # let every worker finish starting
                    return self
            except httpx.HTTPError:
                time.sleep(0.5)
        self.__exit__()
        log = Path(self.log.name).read_text()[-2000:]
        raise SystemExit(f"the server did not start:\n{log}")

    def cpu_seconds(self) -> float:
        """CPU time the server's processes (the supervisor and its workers) have used: the
        cost of a phase apart from the machine's other load (the database's is not in it)."""
        parent = psutil.Process(self.process.pid)
        times = [p.cpu_times() for p in (parent, *parent.children(recursive=True))]
        return sum(t.user + t.system for t in times)

    def db_cpu(self) -> dict[int, float]:
        """CPU seconds of each PostgreSQL backend serving this server (by the connections'
        ``application_name``, so other jobs on the same PostgreSQL are not counted); empty on
        SQLite, which runs inside the server's processes."""
        if not self.env["CONSENTRY_DATABASE_URL"].startswith("postgresql"):
            return {}
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            pids = conn.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                {"name": APPLICATION_NAME},
            ).all()
        engine.dispose()
        cpu = {}
        for pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:  # ended meanwhile, or not on this machine
                continue
            cpu[pid] = times.user + times.system
        return cpu

    def __exit__(self, *_: object) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
        self.log.close()


def wrk(
    server: Server,
    token: str,
    ids: list[str],
    path: str,
    seconds: int,
    connections: int = CONCURRENCY,
    script: str | None = None,
) -> dict:
    """One wrk run (one thread) at ``connections``; ``script`` replaces the default one (GET
    ``path``, or POST a may-share question about one of ``ids``)."""
    if script is None:
        method = "GET" if path == "/api/health" else "POST"
        sample = ", ".join(f'"{i}"' for i in ids)
        script = WRK_SCRIPT % {
            "ids": sample,
            "method": method,
            "token": token,
            "path": path,
            "done": WRK_DONE,
        }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", f.name]
    server_cpu, db_before = server.cpu_seconds(), server.db_cpu()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([*args, server.base], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"wrk failed ({out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.unlink(f.name)
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    result["requests_per_s"] = result["requests"] / result["seconds"]
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    result["client_cpu_cores"] = cpu / result["seconds"]
    result["server_cpu_ms_per_request"] = (
        (server.cpu_seconds() - server_cpu) / max(result["requests"], 1) * 1000
    )
    result["db_cpu_ms_per_request"] = db_cpu_ms(server, db_before, result["requests"])
    return result


def wrk_writes(server: Server, token: str, accounts: list[str], seconds: int) -> dict:
    """``WRITERS`` connections of wrk sending consent events for ``seconds``, each answered
    before the connection sends its next (as ``writes`` does, with a client that costs little
    CPU). ``events`` is the writes acknowledged (201); a write in flight when wrk stops may be
    recorded too, so the ledger must hold at least ``events`` and at most ``sent`` of them."""
    run = uuid.uuid4().hex[:8]
    sample = ", ".join(
        f'"{a}"' for a in random.Random(11).sample(accounts, min(2000, len(accounts)))
    )
    script = WRK_WRITES % {"accounts": sample, "run": run, "token": token} + WRK_WRITES_DONE
    result = wrk(server, token, [], "", seconds, connections=WRITERS, script=script)
    return {
        "clients": WRITERS,
        "generator": "wrk",
        "events": result["created"],
        "sent": result["sent"],
        "errors": result["errors"] + result["non_2xx"],
        "seconds": result["seconds"],
        "writes_per_s": result["created"] / result["seconds"],
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
        "client_cpu_cores": result["client_cpu_cores"],
        "server_cpu_ms_per_request": result["server_cpu_ms_per_request"],
        "db_cpu_ms_per_request": result["db_cpu_ms_per_request"],
        "run": run,
    }


def db_cpu_ms(server: Server, before: dict[int, float], requests: int) -> float | None:
    """PostgreSQL's CPU per request since ``before`` (``Server.db_cpu``); None on SQLite."""
    after = server.db_cpu()
    if not after:
        return None
    used = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
    return used / max(requests, 1) * 1000


def client_cpu(started_cpu: float, seconds: float) -> float:
    """Cores this process (the httpx client threads) used since ``started_cpu``."""
    return (time.process_time() - started_cpu) / seconds


def bulk(server: Server, token: str, ids: list[str], requests: int, clients: int = 2) -> dict:
    rng = random.Random(7)
    collaborators = ["northwind-ai", "lumen-labs"]
    bodies = [
        json.dumps(
            {
                "collaborator_id": collaborators[n % 2],
                "post_ids": [rng.choice(ids) for _ in range(BULK_ITEMS)],
            }
        )
        for n in range(requests)
    ]
    latencies: list[float] = []

    def client(mine: list[str]) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=server.base, headers=headers, timeout=120) as http:
            for body in mine:
                started = time.perf_counter()
                response = http.post("/api/platform/may-share/bulk", content=body)
                response.raise_for_status()
                assert response.json()["count"] == BULK_ITEMS
                latencies.append(time.perf_counter() - started)

    started, started_cpu, server_cpu = (
        time.perf_counter(),
        time.process_time(),
        server.cpu_seconds(),
    )
    db_before = server.db_cpu()
    threads = [threading.Thread(target=client, args=(bodies[i::clients],)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    return {
        "requests": requests,
        "items_per_request": BULK_ITEMS,
        "clients": clients,
        "seconds": seconds,
        "decisions_per_s": requests * BULK_ITEMS / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "client_cpu_cores": client_cpu(started_cpu, seconds),
        "server_cpu_ms_per_request": (server.cpu_seconds() - server_cpu) / requests * 1000,
        "db_cpu_ms_per_request": db_cpu_ms(server, db_before, requests),
    }


def writes(
    server: Server, token: str, accounts: list[str], per_client: int, health: bool = False
) -> dict:
    """``WRITERS`` httpx clients sending consent events, one after another each; with
    ``health``, the same clients asking ``GET /api/health`` instead (the baseline of this
    pattern: what the clients and the framework cost with no database work)."""
    run = uuid.uuid4().hex[:8]
    errors: list[str] = []

    def client(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(
            base_url=server.base, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as http:
            for i in range(per_client):
                if health:
                    http.get("/api/health").raise_for_status()
                    continue
                body = {
                    "account_id": rng.choice(accounts),
                    "decision": rng.choice(["allow", "deny"]),
                    "external_id": f"bench-{run}-{n}-{i}",
                }
                response = http.post("/api/platform/consent-events", json=body)
                if response.status_code != 201:
                    errors.append(f"{response.status_code} {response.text[:200]}")

    started, started_cpu, server_cpu = (
        time.perf_counter(),
        time.process_time(),
        server.cpu_seconds(),
    )
    threads = [threading.Thread(target=client, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    total = WRITERS * per_client
    return {
        "clients": WRITERS,
        "events": total,
        "errors": len(errors),
        "seconds": seconds,
        "writes_per_s": total / seconds,
        "client_cpu_cores": client_cpu(started_cpu, seconds),
        "server_cpu_ms_per_request": (server.cpu_seconds() - server_cpu) / total * 1000,
        "run": run,
    }


def check_ledger(server: Server, url: str, sent: dict) -> dict:
    """``consentry audit verify`` passes and every event sent is in the ledger."""
    verify = subprocess.run(
        [CONSENTRY, "audit", "verify"], env=server.env, capture_output=True, text=True
    )
    engine = create_engine(url)
    commits = None
    with engine.connect() as conn:
        from consentry.store.models import ConsentEvent

        ours = ConsentEvent.external_id.like(f"bench-{sent['run']}-%")
        found = conn.scalar(select(func.count()).where(ours))
        if engine.dialect.name == "postgresql":
            # Rows one transaction inserted share its xmin: the group commits' count.
            xmin = text("count(DISTINCT xmin::text)")
            commits = conn.scalar(select(xmin).select_from(ConsentEvent).where(ours))
    engine.dispose()
    return {
        "audit_verify_exit": verify.returncode,
        "audit_verify": " | ".join(verify.stdout.split("\n")).strip(" |"),
        "events_found": found,
        "events_missing": max(0, sent["events"] - found),
        "events_unexpected": max(0, found - sent.get("sent", sent["events"])),
        "writes_per_commit": found / commits if commits else None,
    }


def run_backend(name: str, url: str, root: Path, data: Path, args: argparse.Namespace) -> dict:
    home = root / name
    home.mkdir()
    started = time.perf_counter()
    token = prepare(url, home, data, args.accounts, args.posts)
    print(f"[{name}] loaded in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    post_ids = pq.read_table(data / "posts.parquet", columns=["id"])["id"].to_pylist()
    account_ids = pq.read_table(data / "accounts.parquet", columns=["id"])["id"].to_pylist()
    ids = random.Random(7).sample(post_ids, 5_000)
    out: dict = {"load_before": os.getloadavg()}
    with Server(url, home, args.workers) as server:
        wrk(server, token, ids, "/api/platform/may-share", 2)  # warm-up
        if "reads" in args.phases:
            out["health"] = wrk(server, token, ids, "/api/health", args.seconds)
            out["single"] = wrk(server, token, ids, "/api/platform/may-share", args.seconds)
            out["bulk"] = bulk(server, token, post_ids, args.bulk_requests)
        if "writes" in args.phases and args.writer == "wrk":
            health_writers = wrk(server, token, ids, "/api/health", args.seconds, WRITERS)
            health_writers["writes_per_s"] = health_writers["requests_per_s"]
            out["health_writers"] = health_writers
            out["writes"] = wrk_writes(server, token, account_ids, args.seconds)
        elif "writes" in args.phases:
            out["health_writers"] = writes(
                server, token, account_ids, args.writes_per_client, health=True
            )
            out["writes"] = writes(server, token, account_ids, args.writes_per_client)
        if "writes" in out:
            out["writes"].update(check_ledger(server, url, out["writes"]))
    out["load_after"] = os.getloadavg()
    if "single" in out:
        out["single"]["ratio_to_health"] = (
            out["single"]["requests_per_s"] / out["health"]["requests_per_s"]
        )
    if "writes" in out:
        out["writes"]["ratio_to_health"] = (
            out["writes"]["writes_per_s"] / out["health_writers"]["writes_per_s"]
        )
    return out


def postgres_schema() -> tuple[str, str]:
    schema = f"bench_service_{os.getpid()}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    sep = "&" if "?" in POSTGRES_URL else "?"
    options = f"options=-csearch_path%3D{schema}&application_name={APPLICATION_NAME}"
    return schema, f"{POSTGRES_URL}{sep}{options}"


def drop_schema(schema: str) -> None:
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


def _ms(phase: dict) -> str:
    return f"{phase['db_cpu_ms_per_request']:.2f}"


def table(results: dict) -> str:
    rows = [("backend", "measure", "value", "goal")]
    for name, r in results["backends"].items():
        load = " / ".join(f"{x:.1f}" for x in (*r["load_before"][:1], *r["load_after"][:1]))
        rows.append((name, "load average (1 min) before / after", load, ""))
        if "single" in r:
            s, b, h = r["single"], r["bulk"], r["health"]
            rows.append((name, "health baseline, req/s", f"{h['requests_per_s']:,.0f}", ""))
            rows.append((name, "health p50 / p99 ms", f"{h['p50_ms']:.1f} / {h['p99_ms']:.1f}", ""))
            rows.append((name, "wrk's CPU, cores", f"{h['client_cpu_cores']:.2f}", ""))
            rows.append(
                (
                    name,
                    f"may-share single, req/s (c={CONCURRENCY})",
                    f"{s['requests_per_s']:,.0f}",
                    ">= 1,000",
                )
            )
            rows.append(
                (
                    name,
                    "may-share single, p50 / p99 ms",
                    f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f}",
                    "p99 < 50",
                )
            )
            rows.append((name, "may-share single / health", f"{s['ratio_to_health']:.2f}", ""))
            cpu = f"{s['server_cpu_ms_per_request']:.2f} / {h['server_cpu_ms_per_request']:.2f}"
            rows.append((name, "server CPU ms per may-share / per health", cpu, ""))
            if s.get("db_cpu_ms_per_request") is not None:
                rows.append((name, "PostgreSQL CPU ms per may-share", _ms(s), ""))
            rows.append(
                (name, "may-share bulk, decisions/s", f"{b['decisions_per_s']:,.0f}", ">= 100,000")
            )
            rows.append(
                (
                    name,
                    "bulk, server CPU ms per request",
                    f"{b['server_cpu_ms_per_request']:.0f}",
                    "",
                )
            )
            if b.get("db_cpu_ms_per_request") is not None:
                rows.append((name, "bulk, PostgreSQL CPU ms per request", _ms(b), ""))
            rows.append((name, "bulk clients' CPU, cores", f"{b['client_cpu_cores']:.2f}", ""))
        if "writes" in r:
            w, hw = r["writes"], r["health_writers"]
            gen = w.get("generator", "httpx")
            rows.append(
                (name, f"health, 8 {gen} connections, req/s", f"{hw['writes_per_s']:,.0f}", "")
            )
            rows.append(
                (
                    name,
                    "consent writes, 8 clients, writes/s",
                    f"{w['writes_per_s']:,.0f}",
                    ">= 1,000",
                )
            )
            rows.append(
                (name, "consent writes / health (8 clients)", f"{w['ratio_to_health']:.2f}", "")
            )
            rows.append((name, "writers' CPU, cores", f"{w['client_cpu_cores']:.2f}", ""))
            cpu = f"{w['server_cpu_ms_per_request']:.1f} / {hw['server_cpu_ms_per_request']:.1f}"
            rows.append((name, "server CPU ms per write / per health", cpu, ""))
            if w.get("db_cpu_ms_per_request") is not None:
                rows.append((name, "PostgreSQL CPU ms per write", _ms(w), ""))
            if w.get("writes_per_commit") is not None:
                per = f"{w['writes_per_commit']:.1f}"
                rows.append((name, "consent writes per commit (group commit)", per, ""))
            rows.append(
                (
                    name,
                    "audit verify / events missing / unexpected",
                    f"exit {w['audit_verify_exit']} / {w['events_missing']}"
                    f" / {w['events_unexpected']}",
                    "0 / 0 / 0",
                )
            )
    widths = [max(len(str(row[i])) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--bulk-requests", type=int, default=20)
    parser.add_argument("--writes-per-client", type=int, default=250, help="httpx writers only")
    parser.add_argument(
        "--writer",
        choices=["wrk", "httpx"],
        default="wrk",
        help="the consent writes' load generator: wrk + Lua (little CPU), or 8 httpx threads",
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--phases",
        default="reads,writes",
        help="reads (health, single, bulk) and/or writes (health at 8 connections, writes)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (Debian's package)")
    root = Path(tempfile.mkdtemp(prefix="consentry-bench-service-"))
    data = root / "demo"
    results: dict = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count()},
        "setup": {**vars(args), "concurrency": CONCURRENCY, "bulk_items": BULK_ITEMS},
        "backends": {},
    }
    schema = None
    try:
        for name in args.backends.split(","):
            if name == "sqlite":
                url = f"sqlite:///{root / 'sqlite.db'}"
            else:
                schema, url = postgres_schema()
            results["backends"][name] = run_backend(name, url, root, data, args)
    finally:
        if schema:
            drop_schema(schema)
        shutil.rmtree(root, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    partial = RESULTS / ".service.json.partial"
    partial.write_text(json.dumps(results, indent=2))
    partial.rename(RESULTS / "service.json")
    print(table(results))
    print(f"\nwritten {RESULTS / 'service.json'}")


if __name__ == "__main__":
    main()

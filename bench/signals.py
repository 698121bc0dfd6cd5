"""Benchmark: the rights signals' per-page headers in bulk, and the site-wide files.

    .venv/bin/python -m bench.signals [--accounts 2000] [--posts 20000] [--pages 1000]
        [--repeat 7] [--single 100] [--backend sqlite|postgres|both]

``consentry serve`` (one worker) over the synthetic demo platform (``bench.service.prepare``).
Timed in the same run, one client on loopback: ``POST /api/signals`` with ``--pages`` post URLs;
``--single`` of them asked one ``GET /api/signals?url=`` at a time (what an edge without the
bulk call would do; compared per page); the platform API's bulk may-share of the same posts
for one collaborator (the bulk rule alone, the baseline); ``GET /api/health`` (the framework
alone); and ``GET /robots.txt`` (every public post judged). Ratios are against the baseline
of the same run. Writes ``bench/results/signals.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.service import RESULTS, Server, drop_schema, postgres_schema, prepare


def timed(call, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Median seconds of ``repeat`` calls (after one warm-up)."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def post_ids(server: Server, count: int) -> list[str]:
    """A random sample of the demo platform's public posts."""
    from sqlalchemy import create_engine, text

    engine = create_engine(server.env["CONSENTRY_DATABASE_URL"])
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM posts WHERE visibility = 'public'"))]
    engine.dispose()
    return random.Random(7).sample(ids, min(count, len(ids)))


def run(url: str, root: Path, data: Path, args: argparse.Namespace) -> dict:
    (root / "home").mkdir(parents=True, exist_ok=True)
    token = prepare(url, root / "home", data, args.accounts, args.posts)
    with Server(url, root / "home", 1) as server:
        ids = post_ids(server, args.pages)
        urls = [f"https://social.example/posts/{i}" for i in ids]
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.base, headers=auth, timeout=300) as client:

            def bulk() -> None:
                response = client.post("/api/signals", json={"urls": urls})
                assert response.status_code == 200 and response.json()["count"] == len(urls)

            def may_share() -> None:
                body = {"collaborator_id": "northwind-ai", "post_ids": ids}
                assert client.post("/api/platform/may-share/bulk", json=body).status_code == 200

            def one_at_a_time() -> None:
                for page in urls[: args.single]:
                    assert client.get("/api/signals", params={"url": page}).status_code == 200

            def health() -> None:
                assert client.get("/api/health").status_code == 200

            def robots() -> None:
                assert client.get("/robots.txt").status_code == 200

            figures = {
                "signals_bulk_s": timed(bulk, args.repeat),
                "may_share_bulk_s": timed(may_share, args.repeat),
                "health_s": timed(health, args.repeat * 10),
                "signals_one_at_a_time_s": timed(one_at_a_time, 1),
                "robots_txt_s": timed(robots, max(1, args.repeat // 2)),
                "robots_txt_bytes": len(client.get("/robots.txt").content),
            }
    figures["bulk_vs_may_share_bulk"] = figures["signals_bulk_s"] / figures["may_share_bulk_s"]
    # Per page: the single requests' mean against the bulk request's share of one page.
    figures["single_page_s"] = figures["signals_one_at_a_time_s"] / args.single
    figures["single_vs_bulk_per_page"] = figures["single_page_s"] / (
        figures["signals_bulk_s"] / len(urls)
    )
    figures["bulk_vs_health"] = figures["signals_bulk_s"] / figures["health_s"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--single", type=int, default=100, help="Pages asked one at a time.")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    results: dict[str, dict] = {"parameters": vars(args)}
    with tempfile.TemporaryDirectory() as tmp:
        root, data = Path(tmp), Path(tmp) / "data"
        if args.backend in ("sqlite", "both"):
            (root / "sqlite").mkdir()
            url = f"sqlite:///{root / 'sqlite' / 'bench.db'}"
            results["sqlite"] = run(url, root / "sqlite", data, args)
        if args.backend in ("postgres", "both"):
            schema, url = postgres_schema()
            (root / "postgres").mkdir()
            try:
                results["postgres"] = run(url, root / "postgres", data, args)
            finally:
                drop_schema(schema)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "signals.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

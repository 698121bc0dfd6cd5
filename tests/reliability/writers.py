"""Clients that stream consent events at the platform API and remember what was acknowledged."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

import httpx


@dataclass
class WriteStream:
    """``clients`` threads posting consent events until ``stop`` is set or ``per_client`` are
    sent; ``acked`` holds the external ids answered 201, ``errors`` every other answer."""

    url: str
    token: str
    accounts: list[str]
    run: str
    clients: int
    per_client: int | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    acked: list[str] = field(default_factory=list)
    unanswered: int = 0
    errors: list[str] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> WriteStream:
        self._threads = [
            threading.Thread(target=self._client, args=(n,), daemon=True)
            for n in range(self.clients)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def join(self) -> None:
        for thread in self._threads:
            thread.join(120)

    def _client(self, n: int) -> None:
        rng = random.Random(f"{self.run}-{n}")
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as http:
            i = 0
            while not self.stop.is_set() and (self.per_client is None or i < self.per_client):
                external_id = f"{self.run}-{n}-{i}"
                body = {
                    "account_id": rng.choice(self.accounts),
                    "decision": rng.choice(["allow", "deny"]),
                    "external_id": external_id,
                }
                i += 1
                try:
                    response = http.post("/api/platform/consent-events", json=body)
                except httpx.TransportError:
                    self.unanswered += 1  # the server went away mid-request
                    if self.stop.wait(0.05):
                        return
                    continue
                if response.status_code == 201:
                    self.acked.append(external_id)
                else:
                    self.errors.append(f"{response.status_code} {response.text[:300]}")


def append_events(database_url: str, accounts: list[str], run: str, count: int) -> float:
    """One writer process: ``count`` consent events, one transaction each as the API does;
    returns the seconds it took (a process of the concurrency test)."""
    import time

    from consentry.store.consent import record_consent
    from consentry.store.db import make_engine, session_scope

    engine = make_engine(database_url)
    rng = random.Random(run)
    started = time.perf_counter()
    for i in range(count):
        with session_scope(engine) as session:
            record_consent(
                session,
                account_id=rng.choice(accounts),
                purpose="train_ai_system",
                decision=rng.choice(["allow", "deny"]),
                source="api",
                actor="reliability",
                external_id=f"{run}-{i}",
            )
    engine.dispose()
    return time.perf_counter() - started

"""Eight clients sending consent events at once: every acknowledged event is in the ledger, in
each client's order, once, and the chains verify (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, select

from consentry.store.db import session_scope
from consentry.store.ledger import verify_audit_chain, verify_consent_chain
from consentry.store.models import ConsentEvent
from service.world import Service

CLIENTS = 8
PER_CLIENT = 25


def test_concurrent_clients_lose_nothing_and_the_chain_verifies(
    service: Service, platform_token: str, world: Engine
) -> None:
    statuses: list[int] = []
    resent: list[int] = []
    accounts = ["ada", "bob", "cy"]

    def client(n: int) -> None:
        with service.client(headers={"Authorization": f"Bearer {platform_token}"}) as http:
            for i in range(PER_CLIENT):
                body = {
                    "account_id": accounts[n % len(accounts)],
                    "decision": "deny" if i % 2 else "allow",
                    "external_id": f"c{n}-{i}",
                }
                statuses.append(http.post("/api/platform/consent-events", json=body).status_code)
            # sent again: answered with the recorded event, not appended twice
            resent.append(http.post("/api/platform/consent-events", json=body).status_code)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert statuses == [201] * (CLIENTS * PER_CLIENT)
    assert resent == [200] * CLIENTS
    with session_scope(world) as session:
        for n in range(CLIENTS):
            mine = session.scalars(
                select(ConsentEvent.external_id)
                .where(ConsentEvent.external_id.like(f"c{n}-%"))
                .order_by(ConsentEvent.id)
            ).all()
            assert mine == [f"c{n}-{i}" for i in range(PER_CLIENT)]
        assert verify_consent_chain(session).ok
        assert verify_audit_chain(session).ok

"""Small platform files in each format, and a way to see everything an import wrote."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, select

from consentry.store.db import make_engine, session_scope
from consentry.store.models import Account, AuditEvent, ConsentEvent, Post
from consentry.store.policies import ensure_builtin_purposes
from consentry.store.schema import upgrade

ACCOUNTS = [
    {
        "id": "a1",
        "handle": "ada",
        "display_name": "Ada",
        "jurisdiction": "DE",
        "protected": False,
        "created_at": "2020-01-01T00:00:00Z",
    },
    {
        "id": "a2",
        "handle": "bob",
        "jurisdiction": "us-ca",
        "birth_date": "2010-05-01",
        "is_minor": True,
        "protected": True,
    },
    {
        "id": "a3",
        "handle": "cy",
        "jurisdiction": "GB",
        "protected": False,
        "deleted_at": "2024-12-01T08:00:00+01:00",
    },
]
POSTS = [
    {
        "id": "p1",
        "account_id": "a1",
        "created_at": "2024-11-20T10:00:00Z",
        "text": 'hello, "world"',
        "lang": "en",
        "visibility": "public",
        "like_count": 3,
    },
    {
        "id": "p2",
        "account_id": "a1",
        "created_at": "2024-11-21T10:00:00+02:00",
        "text": "two\nlines",
        "reply_to": "p1",
        "visibility": "direct",
    },
    {
        "id": "p3",
        "account_id": "a2",
        "created_at": "2024-11-22T10:00:00.123456Z",
        "text": "hi",
        "visibility": "public",
    },
]
CONSENT = [
    {
        "external_id": "e2",
        "account_id": "a1",
        "purpose": "train_ai_system",
        "decision": "allow",
        "effective_at": "2024-11-25T00:00:00Z",
        "recorded_at": "2024-11-25T00:00:01Z",
        "source": "settings",
    },
    {
        "external_id": "e1",
        "account_id": "a1",
        "purpose": "train_ai_system",
        "decision": "deny",
        "effective_at": "2024-11-20T00:00:00Z",
        "recorded_at": "2024-11-20T00:00:01Z",
        "policy_version": "v2",
    },
    {
        "external_id": "e3",
        "account_id": "a2",
        "purpose": "marketing.advertising",
        "decision": "deny",
        "source": "gpc",
        "effective_at": "2024-11-21T00:00:00Z",
    },
]
ROWS = {"accounts": ACCOUNTS, "posts": POSTS, "consent": CONSENT}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Every value as text (as in a CSV), except booleans and counts, which keep their type.
    A row without a key gets a null, as a blank cell would be."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    arrays = {}
    for name in columns:
        values = [row.get(name) for row in rows]
        kinds = {type(v) for v in values if v is not None}
        arrays[name] = pa.array(values) if kinds <= {bool, int} else pa.array(values, pa.string())
    pq.write_table(pa.table(arrays), path)
    return path


WRITERS = {"jsonl": write_jsonl, "csv": write_csv, "parquet": write_parquet}


def write(folder: Path, kind: str, fmt: str, rows: list[dict[str, Any]] | None = None) -> Path:
    return WRITERS[fmt](folder / f"{kind}.{fmt}", ROWS[kind] if rows is None else rows)


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every account, post and consent event as plain tuples, in a stable order."""
    with session_scope(engine) as session:
        accounts = [
            (
                a.id,
                a.handle,
                a.display_name,
                a.jurisdiction,
                a.birth_date,
                a.is_minor,
                a.protected,
                a.created_at,
                a.deleted_at,
            )
            for a in session.scalars(select(Account).order_by(Account.id))
        ]
        posts = [
            (
                p.id,
                p.account_id,
                p.created_at,
                p.text,
                p.lang,
                p.visibility,
                p.reply_to,
                p.kind,
                p.original_id,
                p.deleted_at,
                p.like_count,
                p.repost_count,
                p.reply_count,
            )
            for p in session.scalars(select(Post).order_by(Post.id))
        ]
        events = [
            (
                e.id,
                e.external_id,
                e.account_id,
                e.purpose,
                e.collaborator_id,
                e.decision,
                e.source,
                e.policy_version,
                e.effective_at,
                e.recorded_at,
                e.hash,
            )
            for e in session.scalars(select(ConsentEvent).order_by(ConsentEvent.id))
        ]
    return {"accounts": accounts, "posts": posts, "consent": events}


def audit_actions(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def fresh_sqlite(path: Path) -> Engine:
    """A second, separate migrated SQLite database (the fixtures give one per test)."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with session_scope(engine) as session:
        ensure_builtin_purposes(session)
    return engine

"""Which posts the rights signals offer for licensing and which they reserve, by the consent rule.

A crawler is no collaborator: the question for it is the platform's, "may this post be licensed
for AI training at all?". So a post is judged by the bulk rule (``domain.consent_bulk``) on the
master switch's snapshot (``ConsentInputs.master_snapshot``) for ``train_ai_system``, at cut-off
= as-of = now, under a license that takes every licensable kind of public post and no post from
before the opt-out policy (rule 4): exactly what a new license would ask of the rule. A post it
allows is *licensable* (offered under the platform's terms); every other post, and every post
Consentry does not know, is *reserved* (never to be used for AI training). Why a post is
reserved (a user's no, a minor, ...) is not published: the signals say only that it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine

from consentry.domain import consent_bulk
from consentry.domain.purposes import TRAIN_AI_SYSTEM
from consentry.domain.types import LicenseFacts
from consentry.store.snapshot import Reference, consent_inputs, posts_by_id, public_posts

PLATFORM_LICENSE = LicenseFacts(
    id="rights-signals", collaborator_id=consent_bulk.MASTER_SWITCH_ONLY, purpose=TRAIN_AI_SYSTEM
)
"""The license a crawler could get: every licensable kind, public posts, no pre-policy posts."""

STATUS_SCHEMA = pa.schema(
    [("post_id", pa.string()), ("known", pa.bool_()), ("licensable", pa.bool_())]
)


def _licensable(
    posts: pa.Table,
    inputs_db: Engine | Connection,
    *,
    reference: Reference | None,
    now: datetime,
    whole: bool,
) -> pa.Table:
    """``posts`` (POST_SCHEMA) with their verdicts: post_id, licensable."""
    account_ids = None if whole else pc.unique(posts["account_id"]).to_pylist()
    inputs = consent_inputs(
        inputs_db, purpose=TRAIN_AI_SYSTEM, account_ids=account_ids, reference=reference
    )
    # The thread's kept connection: opening one costs more than judging a request's pages.
    con = consent_bulk.thread_connection()
    snapshot = inputs.master_snapshot(purpose=TRAIN_AI_SYSTEM, cutoff=now, as_of=now)
    verdicts = consent_bulk.post_verdicts(
        posts, snapshot, PLATFORM_LICENSE, cutoff=now, as_of=now, con=con
    )
    return pa.table({"post_id": verdicts["post_id"], "licensable": pc.is_null(verdicts["reason"])})


def post_statuses(
    conn: Connection, reference: Reference, *, post_ids: Sequence[str], now: datetime
) -> pa.Table:
    """One row per id asked, in order (``STATUS_SCHEMA``): a few indexed queries and one
    relational plan for the lot, however many ids."""
    posts = posts_by_id(conn, list(dict.fromkeys(post_ids)))
    judged = _licensable(posts, conn, reference=reference, now=now, whole=False)
    asked = pa.table(
        {
            "i": pa.array(range(len(post_ids)), pa.int64()),
            "post_id": pa.array(post_ids, pa.string()),
        }
    )
    con = consent_bulk.thread_connection()
    con.register("asked", asked)
    con.register("judged", judged)
    try:
        rows = con.sql(
            "SELECT a.post_id, j.post_id IS NOT NULL AS known, "
            "coalesce(j.licensable, false) AS licensable "
            "FROM asked a LEFT JOIN judged j ON j.post_id = a.post_id ORDER BY a.i"
        )
        return rows.to_arrow_table()
    finally:
        con.unregister("asked")
        con.unregister("judged")


def reserved_posts(engine: Engine, *, now: datetime) -> list[str]:
    """The ids of every public post the signals reserve, in id order: one streamed read of the
    public posts and of the consent inputs."""
    judged = _licensable(public_posts(engine), engine, reference=None, now=now, whole=True)
    return sorted(judged.filter(pc.invert(judged["licensable"]))["post_id"].to_pylist())

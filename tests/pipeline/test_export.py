"""The licensed export end to end on the embedded engine, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from export_platform import CUTOFF, Platform, build_platform
from sqlalchemy import Engine

from consentry.domain.types import ExclusionReason
from consentry.errors import Conflict, InvalidInput
from consentry.pipeline.export import run_export
from consentry.pipeline.keys import pseudonym_key
from consentry.pipeline.manifest import verify_delivery
from consentry.pipeline.pseudonymize import pseudonym
from consentry.settings import Settings
from consentry.store.db import session_scope
from consentry.store.deliveries import members_of
from consentry.store.ledger import verify_audit_chain
from consentry.store.models import License


def _export(platform: Platform, out: Path, **kw: object):  # type: ignore[no-untyped-def]
    kw.setdefault("cutoff", platform.cutoff)
    kw.setdefault("license_id", "nw-all")
    return run_export(platform.engine, platform.settings, out_dir=out, **kw)


def _records(out: Path) -> list[dict]:
    return [
        row for shard in sorted(out.glob("*.parquet")) for row in pq.read_table(shard).to_pylist()
    ]


def test_every_post_is_delivered_or_excluded_for_exactly_one_reason(
    platform: Platform, tmp_path: Path
) -> None:
    result = _export(platform, tmp_path / "d1")
    counts = result.counts
    assert counts.excluded == {
        "direct_message": 1,
        "deleted": 2,
        "minor": 1,
        "protected": 1,
        "out_of_scope": 1,
        "denied": 1,
        "no_consent": 2,
        "no_policy": 0,
        "before_policy": 1,
    }
    assert counts.delivered == 3
    assert counts.scanned == 13  # p05 was created after the cut-off: it is not scanned
    assert counts.scanned == counts.delivered + sum(counts.excluded.values())


def test_delivered_records_are_pseudonymized_redacted_and_traceable(
    platform: Platform, tmp_path: Path
) -> None:
    result = _export(platform, tmp_path / "d1")
    key = pseudonym_key(platform.settings.home, "northwind-ai")
    records = {r["record_id"]: r for r in _records(tmp_path / "d1")}
    p01, p13 = records[pseudonym(key, "post:p01")], records[pseudonym(key, "post:p13")]
    assert p01["author_id"] == pseudonym(key, "account:us_default")
    assert "[EMAIL]" in p01["text"] and "ada@example.com" not in p01["text"]
    # de_yes allows sharing: the mention becomes its pseudonym, not its handle.
    assert "@de_yes" not in p01["text"] and pseudonym(key, "account:de_yes") in p01["text"]
    assert "[CARD]" in p13["text"] and p13["reply_to_id"] == pseudonym(key, "post:p01")
    assert p13["kind"] == "reply"
    with session_scope(platform.engine) as session:
        members = {m.post_id: m for m in members_of(session, result.delivery_id)}
        assert verify_audit_chain(session).ok
    assert set(members) == {"p01", "p08", "p13"}
    assert members["p08"].basis_event_id is not None  # explicit allow
    assert (members["p01"].basis_policy_version, members["p01"].basis_default) == ("v2", "opt_out")
    assert members["p01"].record_pseudonym == pseudonym(key, "post:p01")


def test_mentions_of_accounts_that_do_not_share_become_user(
    platform: Platform, tmp_path: Path
) -> None:
    _export(platform, tmp_path / "d1", license_id="nw-all")
    texts = [r["text"] for r in _records(tmp_path / "d1")]
    assert not any("@us_denier" in t for t in texts)


def test_no_policy_in_force_at_the_cutoff(platform: Platform, tmp_path: Path) -> None:
    result = _export(platform, tmp_path / "early", cutoff=datetime(2024, 11, 10, tzinfo=UTC))
    assert result.counts.excluded["no_policy"] > 0
    assert result.counts.excluded["before_policy"] == 0


def test_license_scope_and_coarsening_apply(platform: Platform, tmp_path: Path) -> None:
    result = _export(platform, tmp_path / "lumen", license_id="lumen-en-posts")
    records = _records(tmp_path / "lumen")
    assert {r["kind"] for r in records} == {"post"}
    assert all(r["created_at"].day == 1 and r["created_at"].hour == 0 for r in records)
    assert result.counts.excluded[ExclusionReason.OUT_OF_SCOPE.value] >= 3
    other = pseudonym_key(platform.settings.home, "northwind-ai")
    assert not any(r["record_id"] == pseudonym(other, "post:p01") for r in records)


def test_same_inputs_give_byte_identical_shards_and_a_valid_signature(
    platform: Platform, tmp_path: Path
) -> None:
    _export(platform, tmp_path / "a")
    _export(platform, tmp_path / "b")
    shards_a = sorted((tmp_path / "a").glob("*.parquet"))
    assert shards_a
    for shard in shards_a:
        assert shard.read_bytes() == (tmp_path / "b" / shard.name).read_bytes()
    report = verify_delivery(tmp_path / "a")
    assert report.ok, report.problems


def test_a_non_empty_directory_is_refused_without_resume_or_force(
    platform: Platform, tmp_path: Path
) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(Conflict, match="not empty"):
        _export(platform, out)
    assert (out / "notes.txt").exists()
    _export(platform, out, force=True)
    assert not (out / "notes.txt").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["delivered"] == 3


def test_delta_delivers_only_what_is_new_and_still_allowed(
    platform: Platform, tmp_path: Path
) -> None:
    _export(platform, tmp_path / "full")
    from sqlalchemy import insert

    from consentry.store.models import Post

    with session_scope(platform.engine) as session:
        session.execute(
            insert(Post),
            [
                {
                    "id": "p99",
                    "account_id": "de_yes",
                    "created_at": datetime(2024, 12, 1, tzinfo=UTC),
                    "text": "new one",
                    "lang": "en",
                    "visibility": "public",
                }
            ],
        )
    result = _export(platform, tmp_path / "delta", delta=True)
    assert result.counts.delivered == 1
    assert result.counts.previously_delivered == 3
    with pytest.raises(Conflict, match="no complete delivery"):
        _export(platform, tmp_path / "lumen-delta", license_id="lumen-en-posts", delta=True)


@pytest.mark.slow
def test_records_come_out_in_post_id_order_whatever_the_batching(
    engine: Engine, tmp_path: Path
) -> None:
    build_platform(engine, extra_posts=30_000)
    settings = Settings(home=tmp_path / "home")
    runs = {}
    for label, batch_rows, threads in (("small", 1_000, 4), ("large", 65_536, 1)):
        result = run_export(
            engine,
            settings,
            license_id="nw-all",
            cutoff=CUTOFF,
            out_dir=tmp_path / label,
            batch_rows=batch_rows,
            threads=threads,
            shard_rows=4_096,
        )
        runs[label] = result
    names = sorted(p.name for p in (tmp_path / "small").glob("*.parquet"))
    assert len(names) > 2
    for name in names:
        assert (tmp_path / "small" / name).read_bytes() == (tmp_path / "large" / name).read_bytes()
    with session_scope(engine) as session:
        members = sorted(members_of(session, runs["small"].delivery_id), key=lambda m: m.post_id)
    delivered = [r["record_id"] for r in _records(tmp_path / "small")]
    assert delivered == [m.record_pseudonym for m in members]


def test_a_cutoff_at_the_term_end_is_outside_the_term(platform: Platform, tmp_path: Path) -> None:
    """Regression: the export once took term_end as inclusive while may-share excluded it."""
    with session_scope(platform.engine) as session:
        license = session.get(License, "nw-all")
        assert license is not None
        license.term_end = CUTOFF
    with pytest.raises(InvalidInput, match="outside the license term"):
        _export(platform, tmp_path / "at-end", cutoff=CUTOFF)
    result = _export(platform, tmp_path / "before-end", cutoff=CUTOFF - timedelta(seconds=1))
    assert result.counts.delivered > 0

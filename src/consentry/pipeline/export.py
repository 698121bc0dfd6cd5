"""The licensed export: license + cut-off -> consent snapshot -> posts in scope -> verdicts ->
privacy transforms -> shards -> metadata -> signed manifest (last) -> delivery registered.

Resumable: a shard's row in the database (committed with its membership after the file is renamed
into place) marks it done, and a resumed run recomputes the same records from the same cut-off and
``as_of`` and writes only the shards that are missing.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from consentry import __version__
from consentry.domain import consent_bulk
from consentry.domain.consent import license_in_force
from consentry.domain.types import REASON_ORDER, LicenseFacts
from consentry.errors import Conflict, IntegrityFailure, InvalidInput
from consentry.pipeline import keys
from consentry.pipeline.context import RECORD_COLUMNS, ExportContext
from consentry.pipeline.engines import embedded
from consentry.pipeline.manifest import sha256_file, write_signed_manifest
from consentry.pipeline.metadata import write_croissant, write_datasheet
from consentry.pipeline.shards import PARTIAL_SUFFIX, FinishedShard, ShardWriter
from consentry.pipeline.transform import SCAN_SCHEMA, BatchResult, with_author_pseudonyms
from consentry.settings import Settings
from consentry.store import deliveries, notices
from consentry.store.arrow_io import read_batches
from consentry.store.db import session_scope
from consentry.store.models import Collaborator, Delivery, DeliveryShard, License, Post
from consentry.store.parties import license_facts
from consentry.store.snapshot import consent_inputs

QUOTE_COUNTS = ("reposts_dropped", "quotes_inlined", "quotes_masked")
"""Rule 8 in the manifest: reposts left out (as out_of_scope), quotes with or without the
quoted post."""

Progress = Callable[[int, int], None]
"""Called with (posts scanned so far, posts to scan)."""

TRANSFORM_DESCRIPTIONS = {
    "consent_filter": "Only posts whose authors' consent allows it at the cut-off and at export "
    "time (DESIGN.md consent rule); every excluded post counted under one reason.",
    "redact": "Emails, phone numbers, IP addresses, payment card numbers (Luhn-checked), street "
    "addresses and personal URLs replaced by typed placeholders such as [EMAIL].",
    "mentions": "@mentions of accounts that do not allow sharing become [USER]; others become "
    "the mentioned account's pseudonym.",
    "pseudonymize": "Post and account ids replaced by HMAC-SHA256 pseudonyms under a key unique "
    "to this collaborator, so two collaborators cannot join their deliveries.",
    "coarsen_timestamps": "Creation times truncated to the {unit}.",
}


@dataclass(frozen=True)
class ExportResult:
    delivery_id: str
    path: Path
    counts: dict
    shards: int
    seconds: float
    manifest_sha256: str

    @property
    def records_per_second(self) -> float:
        return self.counts["scanned"] / self.seconds if self.seconds else 0.0


def run_export(
    engine: Engine,
    settings: Settings,
    *,
    license_id: str,
    cutoff: datetime | None,
    out_dir: Path,
    delta: bool = False,
    resume: bool = False,
    force: bool = False,
    batch_rows: int = 65_536,
    shard_rows: int = 524_288,
    threads: int | None = None,
    progress: Progress | None = None,
    actor: str = "cli",
) -> ExportResult:
    started = time.perf_counter()
    out_dir = out_dir.resolve()
    with session_scope(engine) as session:
        delivery, resumed = _open_delivery(
            session,
            license_id=license_id,
            cutoff=cutoff,
            out_dir=out_dir,
            delta=delta,
            resume=resume,
            force=force,
            actor=actor,
        )
        license = session.get(License, delivery.license_id)
        collaborator = session.get(Collaborator, delivery.collaborator_id)
        assert license is not None and collaborator is not None
        done = {s.name: s for s in deliveries.completed_shards(session, delivery.id)}
        recorded_members = (
            sorted(m.post_id for m in deliveries.members_of(session, delivery.id))
            if resumed
            else []
        )
        delivery_id, cutoff, as_of = delivery.id, delivery.cutoff, delivery.started_at
        kind, previous_id = delivery.kind, delivery.previous_delivery_id
        license_info = _license_info(license)
        collaborator_info = {
            "id": collaborator.id,
            "name": collaborator.name,
            "country": collaborator.country,
        }
    if resumed:
        _check_done_shards(out_dir, done)

    facts = license_facts(license)
    # On SQLite each read runs in its own child process from here on: let them all overlap,
    # and count the posts to scan (for the progress bar) on a thread meanwhile.
    counting = ThreadPoolExecutor(max_workers=1, thread_name_prefix="count")
    to_scan = counting.submit(_count_posts, engine, cutoff)
    counting.shutdown(wait=False)
    posts = scan_posts(engine, cutoff, batch_rows)
    inputs = consent_inputs(engine, purpose=facts.purpose, with_handles=True)
    pseudonym_key = keys.pseudonym_key(settings.home, facts.collaborator_id)
    snapshot = inputs.snapshot(
        purpose=facts.purpose, collaborator_id=facts.collaborator_id, cutoff=cutoff, as_of=as_of
    )
    accounts = inputs.accounts
    transforms = license.transforms
    pseudonymize = bool(transforms.get("pseudonymize", True))
    snapshot, handles, replacements = with_author_pseudonyms(
        snapshot, accounts, key=pseudonym_key, pseudonymize=pseudonymize
    )
    ctx = ExportContext(
        license=facts,
        cutoff=cutoff,
        as_of=as_of,
        fields=list(license.fields),
        redact=bool(transforms.get("redact", True)),
        pseudonymize=pseudonymize,
        coarsen=str(transforms.get("coarsen_timestamps", "none")),
        pseudonym_key=pseudonym_key,
        snapshot=snapshot,
        mention_handles=handles,
        mention_replacements=replacements,
        quoted=quoted_posts_delivered(engine, snapshot, facts, cutoff=cutoff, as_of=as_of),
        withdrawn=notices.withdrawn_post_ids(engine, collaborator_id=facts.collaborator_id),
        already_delivered=(
            deliveries.delivered_post_ids(engine, facts.id) if kind == "delta" else None
        ),
    )

    def shard_finished(shard: FinishedShard) -> None:
        members = shard.members.append_column(
            "delivery_id", pa.array([delivery_id] * shard.members.num_rows, pa.string())
        )
        deliveries.record_shard(
            engine,
            delivery_id=delivery_id,
            name=shard.name,
            sha256=shard.sha256,
            rows=shard.rows,
            size=shard.bytes,
            members=members,
        )

    writer = ShardWriter(
        out_dir, ctx.schema, shard_rows=shard_rows, done=set(done), on_finished=shard_finished
    )
    totals = _Totals()
    for result in embedded.run(posts, ctx, threads=threads):
        totals.add(result)
        writer.write(result.records, result.members)
        if progress:
            progress(
                totals.scanned + totals.previously_delivered + totals.withdrawn, to_scan.result()
            )
    writer.close()

    with session_scope(engine) as session:
        shards = deliveries.completed_shards(session, delivery_id)
        shard_list = [
            {"name": s.name, "sha256": s.sha256, "rows": s.rows, "bytes": s.bytes} for s in shards
        ]
    if resumed:
        _check_resumed_rows(recorded_members, writer, delivery_id)
    if [s["name"] for s in shard_list] != writer.shards_written:
        raise IntegrityFailure(
            f"shards on record {[s['name'] for s in shard_list]} differ from the shards this "
            f"run produced {writer.shards_written}; the inputs changed since the interrupted run"
        )
    manifest = _manifest(
        delivery_id=delivery_id,
        kind=kind,
        previous_id=previous_id,
        license_info=license_info,
        collaborator_info=collaborator_info,
        cutoff=cutoff,
        as_of=as_of,
        ctx=ctx,
        totals=totals,
        shards=shard_list,
    )
    write_croissant(out_dir, manifest)
    write_datasheet(out_dir, manifest)  # both listed with their hashes in the signed manifest
    signed = write_signed_manifest(out_dir, manifest, keys.signing_key(settings.home))
    with session_scope(engine) as session:
        deliveries.complete_delivery(
            session,
            delivery_id=delivery_id,
            record_count=totals.delivered,
            counts=manifest["counts"],
            manifest_sha256=signed.sha256,
            manifest_signature=signed.signature_b64,
            actor=actor,
        )
    return ExportResult(
        delivery_id=delivery_id,
        path=out_dir,
        counts=manifest["counts"],
        shards=len(shard_list),
        seconds=time.perf_counter() - started,
        manifest_sha256=signed.sha256,
    )


def _open_delivery(
    session: Session,
    *,
    license_id: str,
    cutoff: datetime | None,
    out_dir: Path,
    delta: bool,
    resume: bool,
    force: bool,
    actor: str,
) -> tuple[Delivery, bool]:
    """The delivery to write: a resumed one, or a new one in an empty directory."""
    path = str(out_dir)
    occupied = out_dir.exists() and any(out_dir.iterdir())
    if resume:
        delivery = deliveries.running_delivery_at(session, path)
        if delivery is None or delivery.status != "running":
            state = "is already complete" if delivery else "was never started"
            raise Conflict(f"nothing to resume in {path}: its delivery {state}")
        if delivery.license_id != license_id:
            raise Conflict(f"{path} holds a delivery of license {delivery.license_id!r}")
        return delivery, True
    if occupied and not force:
        raise Conflict(
            f"{path} is not empty; pass --resume to finish an interrupted delivery there, "
            "or --force to replace its contents"
        )
    if occupied:
        for entry in out_dir.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    license = session.get(License, license_id)
    if license is None:
        from consentry.errors import NotFound

        raise NotFound("license", license_id)
    collaborator = session.get(Collaborator, license.collaborator_id)
    as_of = datetime.now(UTC)
    cutoff = cutoff or as_of
    _check_may_export(license_facts(license), collaborator, cutoff, as_of)
    previous = deliveries.previous_delivery(session, license_id) if delta else None
    if delta and previous is None:
        raise Conflict(f"license {license_id!r} has no complete delivery to make a delta from")
    out_dir.mkdir(parents=True, exist_ok=True)
    delivery = deliveries.start_delivery(
        session,
        id=deliveries.next_delivery_id(session, license_id, cutoff),
        license_id=license_id,
        collaborator_id=license.collaborator_id,
        kind="delta" if delta else "full",
        previous_delivery_id=previous.id if previous else None,
        cutoff=cutoff,
        as_of=as_of,
        engine_name=embedded.NAME,
        path=path,
        actor=actor,
    )
    return delivery, False


def _check_may_export(
    license: LicenseFacts, collaborator: Collaborator | None, cutoff: datetime, as_of: datetime
) -> None:
    if cutoff > as_of:
        raise InvalidInput("the cut-off is in the future", field="--cutoff")
    if license.status != "active":
        raise Conflict(f"license {license.id!r} is {license.status}")
    if collaborator is None or collaborator.status != "active":
        raise Conflict(f"collaborator {license.collaborator_id!r} is not active")
    if not license_in_force(license, cutoff):
        end = license.term_end.isoformat() if license.term_end else "open-ended"
        raise InvalidInput(
            f"the cut-off {cutoff.isoformat()} is outside the license term "
            f"[{license.term_start.isoformat() if license.term_start else 'open'}, {end})",
            field="--cutoff",
        )


def _check_done_shards(out_dir: Path, done: dict[str, DeliveryShard]) -> None:
    for partial in out_dir.glob("*" + PARTIAL_SUFFIX):
        partial.unlink()
    for name, shard in done.items():
        path = out_dir / name
        if not path.exists() or sha256_file(path) != shard.sha256:
            raise IntegrityFailure(
                f"{path} was recorded as finished but is missing or altered; "
                "start the delivery again with --force"
            )


def _check_resumed_rows(recorded: list[str], writer: ShardWriter, delivery_id: str) -> None:
    """The rows a resumed run skipped must be exactly the members of the shards done before."""
    skipped = sorted(i for ids in writer.skipped_post_ids for i in ids.to_pylist())
    if skipped != recorded:
        raise IntegrityFailure(
            f"the posts, accounts or ledger changed since delivery {delivery_id} was interrupted: "
            "the shards finished before would not hold the same records now; start the "
            "delivery again with --force"
        )


def _cutoff_sql(engine: Engine, cutoff: datetime) -> str:
    moment = cutoff.astimezone(UTC)
    if engine.dialect.name == "sqlite":
        return f"created_at <= '{moment:%Y-%m-%d %H:%M:%S.%f}'"
    return f"created_at <= '{moment.isoformat()}'::timestamptz"


def scan_posts(engine: Engine, cutoff: datetime, batch_rows: int) -> Iterator[pa.RecordBatch]:
    """Posts created by the cut-off, in post-id byte order (the same on both databases)."""
    order = "id" if engine.dialect.name == "sqlite" else 'id COLLATE "C"'
    return read_batches(
        engine,
        table="posts",
        schema=SCAN_SCHEMA,
        where=_cutoff_sql(engine, cutoff),
        order_by=order,
        batch_rows=batch_rows,
    )


def quoted_posts_delivered(
    engine: Engine,
    snapshot: pa.Table,
    license: LicenseFacts,
    *,
    cutoff: datetime,
    as_of: datetime,
) -> pa.Table:
    """id and text of every post quoted by a post in the scan that would itself be delivered
    under this license (rule 8); a quote carries only those, and ``[QUOTED]`` for the rest."""
    quoted_by_scan = (
        "id IN (SELECT original_id FROM posts WHERE kind = 'quote' AND "
        f"{_cutoff_sql(engine, cutoff)})"
    )
    originals = pa.Table.from_batches(
        list(read_batches(engine, table="posts", schema=SCAN_SCHEMA, where=quoted_by_scan)),
        schema=SCAN_SCHEMA,
    )
    verdicts = consent_bulk.post_verdicts(
        originals.select(consent_bulk.POST_SCHEMA.names),
        snapshot,
        license,
        cutoff=cutoff,
        as_of=as_of,
    )
    delivered = verdicts.filter(pc.is_null(verdicts["reason"])).column("post_id")
    kept = originals.filter(pc.is_in(originals["id"], value_set=delivered))
    return pa.table({"quoted_post_id": kept["id"], "quoted_post_text": kept["text"]})


def _count_posts(engine: Engine, cutoff: datetime) -> int:
    with engine.connect() as conn:
        return (
            conn.scalar(
                select(func.count()).select_from(Post).where(text(_cutoff_sql(engine, cutoff)))
            )
            or 0
        )


class _Totals:
    def __init__(self) -> None:
        self.scanned = 0
        self.previously_delivered = 0
        self.withdrawn = 0
        self.delivered = 0
        self.excluded: Counter[str] = Counter()
        self.quotes: Counter[str] = Counter()
        self.by_jurisdiction: Counter[tuple[str, bool]] = Counter()
        self.basis: Counter[str] = Counter()

    def add(self, result: BatchResult) -> None:
        self.scanned += result.scanned
        self.previously_delivered += result.previously_delivered
        self.withdrawn += result.withdrawn
        self.delivered += result.records.num_rows
        self.excluded.update(result.excluded)
        self.quotes.update(result.quotes)
        self.by_jurisdiction.update(result.by_jurisdiction)
        self.basis.update(result.basis)


def _license_info(license: License) -> dict[str, Any]:
    return {
        "id": license.id,
        "purpose": license.purpose,
        "description": license.description,
        "scope": license.scope,
        "fields": list(license.fields),
        "transforms": license.transforms,
        "price_model": license.price_model,
        "deletion_sla_days": license.deletion_sla_days,
    }


def _manifest(
    *,
    delivery_id: str,
    kind: str,
    previous_id: str | None,
    license_info: dict[str, Any],
    collaborator_info: dict[str, str],
    cutoff: datetime,
    as_of: datetime,
    ctx: ExportContext,
    totals: _Totals,
    shards: list[dict[str, Any]],
) -> dict[str, Any]:
    excluded = {reason.value: totals.excluded.get(reason.value, 0) for reason in REASON_ORDER}
    places = sorted({place for place, _ in totals.by_jurisdiction})
    transforms = [
        {"name": "consent_filter", "description": TRANSFORM_DESCRIPTIONS["consent_filter"]}
    ]
    if ctx.redact:
        transforms += [
            {"name": n, "description": TRANSFORM_DESCRIPTIONS[n]} for n in ("redact", "mentions")
        ]
    if ctx.pseudonymize:
        transforms.append(
            {"name": "pseudonymize", "description": TRANSFORM_DESCRIPTIONS["pseudonymize"]}
        )
    if ctx.coarsen != "none":
        transforms.append(
            {
                "name": "coarsen_timestamps",
                "description": TRANSFORM_DESCRIPTIONS["coarsen_timestamps"].format(
                    unit=ctx.coarsen
                ),
            }
        )
    return {
        "format": "consentry.delivery/1",
        "delivery_id": delivery_id,
        "kind": kind,
        "previous_delivery_id": previous_id,
        "license": license_info,
        "collaborator": collaborator_info,
        "cutoff": cutoff.isoformat(),
        "as_of": as_of.isoformat(),
        "created_at": datetime.now(UTC).isoformat(),
        "engine": embedded.NAME,
        "software": {"name": "consentry", "version": __version__},
        "counts": {
            "scanned": totals.scanned,
            "in_scope": totals.scanned - excluded["out_of_scope"],
            "excluded": excluded,
            "delivered": totals.delivered,
            "previously_delivered": totals.previously_delivered,
            "withdrawn_after_delivery": totals.withdrawn,
            **{key: totals.quotes.get(key, 0) for key in QUOTE_COUNTS},
        },
        "shards": shards,
        "schema": [
            {"name": f.name, "type": str(f.type), "description": RECORD_COLUMNS[f.name][2]}
            for f in ctx.schema
        ],
        "transforms": transforms,
        "consent_summary": [
            {
                "jurisdiction": place or "unknown",
                "delivered": totals.by_jurisdiction.get((place, True), 0),
                "excluded": totals.by_jurisdiction.get((place, False), 0),
            }
            for place in places
        ],
        "consent_basis_summary": {
            "event": totals.basis.get("event", 0),
            "policy_default": totals.basis.get("policy_default", 0),
        },
    }

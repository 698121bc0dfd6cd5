"""The licensed export, plan -> execute -> finalize.

``plan_export`` opens (or resumes) the delivery and decides everything as plain data: license
facts, cut-off and ``as_of``, the consent snapshot, the source of posts, the transforms and the
shard layout. ``write_shards`` has an engine execute the plan over Arrow batches and writes the
records into shards, each registered with its members as it is finished (the resume marker).
``finalize`` then, once: checks the shards on record, writes croissant.json, DATASHEET.md and the
signed manifest (last), and marks the delivery complete.

Resumable: a resumed run recomputes the same records from the same cut-off and ``as_of`` and
writes only the shards that are missing.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from consentry import __version__
from consentry.domain import consent_bulk
from consentry.domain.consent import license_in_force
from consentry.domain.types import LicenseFacts
from consentry.errors import Conflict, IntegrityFailure, InvalidInput, NotFound, OutputFailed
from consentry.pipeline import engines, keys, pause
from consentry.pipeline.context import RECORD_COLUMNS, ExportContext
from consentry.pipeline.counts import manifest_counts, rows_read, total_counts
from consentry.pipeline.engines.embedded import EmbeddedEngine
from consentry.pipeline.manifest import (
    CollaboratorInfo,
    Counts,
    LicenseInfo,
    Manifest,
    SchemaField,
    ShardEntry,
    Software,
    Transform,
    sha256_file,
    write_signed_manifest,
)
from consentry.pipeline.metadata import write_croissant, write_datasheet
from consentry.pipeline.plan import ExportPlan, ShardLayout, Target
from consentry.pipeline.redact import Mentions, RedactionLists, public_transforms
from consentry.pipeline.shards import PARTIAL_SUFFIX, FinishedShard, ShardWriter
from consentry.pipeline.sources import Source, SourceSpec, StoreSource
from consentry.pipeline.transform import with_author_pseudonyms
from consentry.revenue.billing import TOKENS_SCHEMA, bill, record_tokens, sum_tokens
from consentry.settings import Settings
from consentry.store import deliveries, notices
from consentry.store.db import session_scope
from consentry.store.models import Collaborator, Delivery, License
from consentry.store.parties import license_facts
from consentry.store.snapshot import consent_inputs

__all__ = ["ExportResult", "finalize", "plan_export", "run_export", "write_shards"]

Progress = Callable[[int, int], None]
"""Called with (posts scanned so far, posts to scan)."""
FOLD = 8
"""The batches' counts and tokens tables are summed every this many, so that what is kept stays
bounded by the distinct keys and authors, not by the posts."""

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
    manifest: Manifest
    shards: int
    seconds: float
    manifest_sha256: str

    @property
    def counts(self) -> Counts:
        return self.manifest.counts

    @property
    def records_per_second(self) -> float:
        return self.counts.scanned / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Written:
    """What executing a plan left behind: the summed counts table and the shards in order."""

    counts: pa.Table
    shards: list[str]
    skipped_post_ids: list[str]
    """Post ids of the rows that fell into shards already done (checked on resume)."""
    tokens: pa.Table
    """(account_id, tokens) of every record written, for the bill (no read back of shards)."""


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
    executor: engines.Engine | None = None,
    source: SourceSpec | None = None,
) -> ExportResult:
    """Plan, execute (on ``executor``, default the embedded engine), finalize; posts from
    ``source`` (default the store)."""
    started = time.perf_counter()
    if executor is None:
        executor = EmbeddedEngine(threads=threads)
    plan = plan_export(
        engine,
        settings,
        license_id=license_id,
        cutoff=cutoff,
        out_dir=out_dir,
        delta=delta,
        resume=resume,
        force=force,
        batch_rows=batch_rows,
        shard_rows=shard_rows,
        engine_name=executor.name,
        actor=actor,
        source=source,
    )
    try:
        written = write_shards(engine, plan, executor, progress=progress)
        result = finalize(
            engine, settings, plan, written, engine_name=executor.name, actor=actor, started=started
        )
    except OSError as exc:  # a full disk: finished shards stay on record for --resume
        raise OutputFailed(plan.target.out_dir, exc) from exc
    bill(
        engine,
        delivery_id=result.delivery_id,
        home=settings.home,
        actor=actor,
        tokens=written.tokens,
    )
    return result


def plan_export(
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
    engine_name: str = EmbeddedEngine.name,
    actor: str = "cli",
    source: SourceSpec | None = None,
) -> ExportPlan:
    """Open (or resume) the delivery and decide everything the engine needs; posts from
    ``source`` (default the store), a lake table checked before the delivery is opened."""
    layout = ShardLayout(shard_rows=shard_rows)
    spec = source or SourceSpec()
    spec.check()
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
            engine_name=engine_name,
            actor=actor,
        )
        license = session.get(License, delivery.license_id)
        collaborator = session.get(Collaborator, delivery.collaborator_id)
        assert license is not None and collaborator is not None
        done = {s.name: s.sha256 for s in deliveries.completed_shards(session, delivery.id)}
        recorded_members = (
            tuple(sorted(m.post_id for m in deliveries.members_of(session, delivery.id)))
            if resumed
            else ()
        )
        target = Target(
            delivery_id=delivery.id,
            kind=delivery.kind,
            previous_delivery_id=delivery.previous_delivery_id,
            out_dir=out_dir,
            license=_license_info(license),
            collaborator=CollaboratorInfo(
                id=collaborator.id, name=collaborator.name, country=collaborator.country
            ),
            resumed=resumed,
            done_shards=done,
            recorded_members=recorded_members,
        )
        cutoff, as_of = delivery.cutoff, delivery.started_at
        facts = license_facts(license)
        transforms, fields = license.transforms, list(license.fields)
    if resumed:
        _check_done_shards(out_dir, done)

    # On SQLite each read runs in its own child process from here on: let them all overlap
    # (the reads that do not need the snapshot run on threads while it is computed).
    posts = spec.open(engine, cutoff, batch_rows)
    if isinstance(posts, StoreSource):
        posts.start()
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="plan") as reads:
        originals = reads.submit(posts.quoted_originals)
        withdrawn = reads.submit(
            notices.withdrawn_post_ids, engine, collaborator_id=facts.collaborator_id
        )
        already_delivered = (
            reads.submit(deliveries.delivered_post_ids, engine, facts.id)
            if target.kind == "delta"
            else None
        )
        inputs = consent_inputs(engine, purpose=facts.purpose, with_handles=True)
        pseudonym_key = keys.pseudonym_key(settings.home, facts.collaborator_id)
        snapshot = inputs.snapshot(
            purpose=facts.purpose,
            collaborator_id=facts.collaborator_id,
            cutoff=cutoff,
            as_of=as_of,
        )
        pseudonymize = bool(transforms.get("pseudonymize", True))
        snapshot, handles, replacements = with_author_pseudonyms(
            snapshot, inputs.accounts, key=pseudonym_key, pseudonymize=pseudonymize
        )
        quoted = quoted_posts_delivered(
            posts, snapshot, facts, cutoff=cutoff, as_of=as_of, originals=originals.result()
        )
        context = ExportContext(
            license=facts,
            cutoff=cutoff,
            as_of=as_of,
            fields=fields,
            redact=bool(transforms.get("redact", True)),
            pseudonymize=pseudonymize,
            coarsen=str(transforms.get("coarsen_timestamps", "none")),
            redaction_lists=RedactionLists.from_transforms(transforms, where=f"license {facts.id}"),
            pseudonym_key=pseudonym_key,
            snapshot=snapshot,
            mentions=Mentions(handles, replacements),
            quoted=quoted,
            withdrawn=withdrawn.result(),
            already_delivered=already_delivered.result() if already_delivered else None,
        )
    return ExportPlan(target=target, context=context, source=posts, layout=layout)


def write_shards(
    engine: Engine,
    plan: ExportPlan,
    executor: engines.Engine,
    *,
    progress: Progress | None = None,
) -> Written:
    """Execute the plan and write its records into shards, registering each finished shard
    with its members in one transaction (the resume marker)."""
    target = plan.target
    # Counting is a scan of its own (the created-time column): only for a progress bar.
    to_scan = None
    if progress:
        counting = ThreadPoolExecutor(max_workers=1, thread_name_prefix="count")
        to_scan = counting.submit(plan.source.count)
        counting.shutdown(wait=False)

    paused_at = pause.pause_directory()
    recorded = 0

    def shard_finished(shard: FinishedShard) -> None:
        nonlocal recorded
        members = shard.members.append_column(
            "delivery_id",
            pa.array([target.delivery_id] * shard.members.num_rows, pa.string()),
        )
        deliveries.record_shard(
            engine,
            delivery_id=target.delivery_id,
            name=shard.name,
            sha256=shard.sha256,
            rows=shard.rows,
            size=shard.bytes,
            members=members,
        )
        recorded += 1
        pause.pause(pause.SHARD_REGISTERED, paused_at, reached=recorded)

    writer = ShardWriter(
        target.out_dir,
        plan.context.schema,
        shard_rows=plan.layout.shard_rows,
        done=set(target.done_shards),
        on_finished=shard_finished,
    )
    counts: list[pa.Table] = []
    tokens: list[pa.Table] = []
    read = 0
    try:
        for output in executor.execute(plan):
            counts.append(output.counts)
            if len(counts) == FOLD:
                counts = [total_counts(counts)]
            if output.records.num_rows:
                tokens.append(sum_tokens(record_tokens(output.records, output.members)))
                if len(tokens) == FOLD:
                    tokens = [sum_tokens(pa.concat_tables(tokens))]
            writer.write(output.records, output.members)
            if progress and to_scan:
                read += rows_read(output.counts)
                progress(read, to_scan.result())
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return Written(
        counts=total_counts(counts),
        shards=list(writer.shards_written),
        skipped_post_ids=sorted(i for ids in writer.skipped_post_ids for i in ids.to_pylist()),
        tokens=sum_tokens(pa.concat_tables([TOKENS_SCHEMA.empty_table(), *tokens])),
    )


def finalize(
    engine: Engine,
    settings: Settings,
    plan: ExportPlan,
    written: Written,
    *,
    engine_name: str,
    actor: str,
    started: float | None = None,
    created_at: datetime | None = None,
) -> ExportResult:
    """Once, after every shard: the typed manifest, the metadata, the signature, and the
    delivery marked complete."""
    started = time.perf_counter() if started is None else started
    target = plan.target
    with session_scope(engine) as session:
        shards = [
            ShardEntry(name=s.name, sha256=s.sha256, rows=s.rows, bytes=s.bytes)
            for s in deliveries.completed_shards(session, target.delivery_id)
        ]
    if target.resumed and written.skipped_post_ids != list(target.recorded_members):
        raise IntegrityFailure(
            f"the posts, accounts or ledger changed since delivery {target.delivery_id} was "
            "interrupted: the shards finished before would not hold the same records now; start "
            "the delivery again with --force"
        )
    if [s.name for s in shards] != written.shards:
        raise IntegrityFailure(
            f"shards on record {[s.name for s in shards]} differ from the shards this "
            f"run produced {written.shards}; the inputs changed since the interrupted run"
        )
    manifest = _manifest(
        plan,
        written,
        shards,
        engine_name=engine_name,
        created_at=created_at or datetime.now(UTC),
    )
    write_croissant(target.out_dir, manifest)
    write_datasheet(target.out_dir, manifest)  # both listed with their hashes in the manifest
    signed = write_signed_manifest(target.out_dir, manifest, keys.signing_key(settings.home))
    with session_scope(engine) as session:
        deliveries.complete_delivery(
            session,
            delivery_id=target.delivery_id,
            record_count=manifest.counts.delivered,
            counts=manifest.counts.model_dump(mode="json"),
            manifest_sha256=signed.sha256,
            manifest_signature=signed.signature_b64,
            actor=actor,
        )
    return ExportResult(
        delivery_id=target.delivery_id,
        path=target.out_dir,
        manifest=manifest,
        shards=len(shards),
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
    engine_name: str,
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
        engine_name=engine_name,
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


def _check_done_shards(out_dir: Path, done: dict[str, str]) -> None:
    for partial in out_dir.glob("*" + PARTIAL_SUFFIX):
        partial.unlink()
    for name, sha256 in done.items():
        path = out_dir / name
        if not path.exists() or sha256_file(path) != sha256:
            raise IntegrityFailure(
                f"{path} was recorded as finished but is missing or altered; "
                "start the delivery again with --force"
            )


def quoted_posts_delivered(
    source: Source,
    snapshot: pa.Table,
    license: LicenseFacts,
    *,
    cutoff: datetime,
    as_of: datetime,
    originals: pa.Table | None = None,
) -> pa.Table:
    """id and text of every post quoted by a post in the scan that would itself be delivered
    under this license (rule 8); a quote carries only those, and ``[QUOTED]`` for the rest.
    The originals are read from the same source as the posts (``originals``: already read)."""
    if originals is None:
        originals = source.quoted_originals()
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


def _license_info(license: License) -> LicenseInfo:
    return LicenseInfo(
        id=license.id,
        purpose=license.purpose,
        description=license.description,
        scope=license.scope,
        fields=list(license.fields),
        transforms=public_transforms(license.transforms),
        price_model=license.price_model,
        deletion_sla_days=license.deletion_sla_days,
    )


def _transforms(ctx: ExportContext) -> list[Transform]:
    names = ["consent_filter"]
    if ctx.redact:
        names += ["redact", "mentions"]
    if ctx.pseudonymize:
        names.append("pseudonymize")
    applied = [Transform(name=n, description=TRANSFORM_DESCRIPTIONS[n]) for n in names]
    if ctx.coarsen != "none":
        description = TRANSFORM_DESCRIPTIONS["coarsen_timestamps"].format(unit=ctx.coarsen)
        applied.append(Transform(name="coarsen_timestamps", description=description))
    return applied


def _manifest(
    plan: ExportPlan,
    written: Written,
    shards: list[ShardEntry],
    *,
    engine_name: str,
    created_at: datetime,
) -> Manifest:
    target, ctx = plan.target, plan.context
    counts, consent_summary, basis = manifest_counts(written.counts)
    return Manifest(
        delivery_id=target.delivery_id,
        kind=target.kind,
        previous_delivery_id=target.previous_delivery_id,
        license=target.license,
        collaborator=target.collaborator,
        cutoff=plan.cutoff,
        as_of=plan.as_of,
        created_at=created_at,
        engine=engine_name,
        software=Software(name="consentry", version=__version__),
        counts=counts,
        shards=shards,
        schema=[
            SchemaField(name=f.name, type=str(f.type), description=RECORD_COLUMNS[f.name][2])
            for f in ctx.schema
        ],
        transforms=_transforms(ctx),
        consent_summary=consent_summary,
        consent_basis_summary=basis,
    )

"""Import accounts, posts and consent events from a file or an Arrow table: all or nothing.

Read, check every row, check references in the database, then load, all in one transaction.
A bad row stops the import with an error naming the file, line and field, and nothing is
written, unless a quarantine file is given: then the bad rows go there with their reasons and
the others are imported. A consent event sent again under a recorded external id with other
content is such a row too; when only such rows stop an import, the error is a ``Conflict``
(409 in the service), otherwise ``InvalidInput``. One audit event records each import run.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine
from sqlalchemy.orm import InstrumentedAttribute, Session

from consentry.errors import Conflict, InvalidInput
from consentry.ingest import readers
from consentry.ingest.fields import Kind, kind_of
from consentry.ingest.readers import Problem, Source
from consentry.ingest.validate import Checked, Problems, check
from consentry.store.content import (
    LoadCounts,
    append_consent_events,
    bulk_session,
    existing_ids,
    load_accounts,
    load_posts,
    record_import,
    resent_events,
)
from consentry.store.models import Account, Collaborator
from consentry.store.policies import ensure_purpose

_SHOWN = 10
"""Problems listed in an error message; the rest are counted."""


@dataclass(frozen=True)
class ImportReport:
    kind: str
    source: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    accounts: tuple[str, ...] = field(default=(), repr=False)
    """Accounts whose rows this import touched: their delivered records are judged again."""

    def summary(self) -> str:
        return (
            f"{self.kind} from {self.source}: {self.rows_read} read, {self.inserted} inserted, "
            f"{self.updated} updated, {self.unchanged} unchanged, {self.quarantined} quarantined"
        )


def import_file(
    engine: Engine,
    kind: str,
    path: str | Path,
    *,
    format: str | None = None,
    quarantine: str | Path | None = None,
    actor: str = "cli",
) -> ImportReport:
    """Import a JSONL, CSV or Parquet file of ``kind`` (accounts, posts or consent)."""
    spec = kind_of(kind)
    source = readers.read(Path(path), spec, format)
    with bulk_session(engine) as session:
        return import_source(
            session, spec, source, actor=actor, quarantine=Path(quarantine) if quarantine else None
        )


def import_table(
    engine: Engine,
    kind: str,
    table: pa.Table,
    *,
    source_name: str,
    actor: str,
    quarantine: str | Path | None = None,
) -> ImportReport:
    """Import rows already in Arrow (columns as for a file); errors name the row index."""
    spec = kind_of(kind)
    source = readers.from_table(table, source_name)
    with bulk_session(engine) as session:
        return import_source(
            session, spec, source, actor=actor, quarantine=Path(quarantine) if quarantine else None
        )


def import_source(
    session: Session,
    kind: Kind,
    source: Source,
    *,
    actor: str,
    quarantine: Path | None = None,
    hint: str = "fix these rows, or give a quarantine file (--quarantine FILE) to set them "
    "aside and import the rest",
) -> ImportReport:
    """Check and load ``source`` inside the caller's transaction; ``hint`` ends a rejection."""
    if quarantine is not None:
        _check_quarantine_path(quarantine, source)
    checked = check(kind, source, datetime.now(UTC))
    _check_references(session, kind, checked)
    conflicts = _check_resent(session, kind, checked)
    problems = _problems(source, checked)
    if problems and quarantine is None:
        only_conflicts = not source.rejected and set(checked.problems.rows) <= conflicts
        raise _rejection(source, problems, hint, Conflict if only_conflicts else InvalidInput)
    good = checked.table.filter(pc.invert(checked.problems.bad_rows(checked.table.num_rows)))
    counts = _load(session, kind, good)
    bad = {p.position for p, _ in problems}
    if quarantine is not None:
        _write_quarantine(quarantine, source, problems)
    report = ImportReport(
        kind=kind.name,
        source=source.name,
        rows_read=source.table.num_rows + len({p.position for p, _ in source.rejected}),
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        quarantined=len(bad),
        accounts=tuple(
            pc.unique(good["id" if kind.name == "accounts" else "account_id"]).to_pylist()
        ),
    )
    details: dict[str, Any] = {
        k: v for k, v in asdict(report).items() if k not in ("kind", "source", "accounts")
    }
    if quarantine is not None:
        details["quarantine"] = str(quarantine)
    record_import(session, kind=kind.name, source_name=source.name, actor=actor, counts=details)
    return report


def _load(session: Session, kind: Kind, table: pa.Table) -> LoadCounts:
    if kind.name == "accounts":
        return load_accounts(session, table)
    if kind.name == "posts":
        return load_posts(session, table)
    for purpose in pc.unique(table["purpose"]).to_pylist():
        ensure_purpose(session, purpose)
    return append_consent_events(session, table)


def _known(
    session: Session,
    column: InstrumentedAttribute[Any],
    values: pa.ChunkedArray,
    name: str,
    problems: Problems,
    template: str,
) -> None:
    values = values.combine_chunks()
    found = existing_ids(session, column, values)
    missing = pc.and_(values.is_valid(), pc.invert(pc.is_in(values, value_set=found)))
    problems.add(missing, name, template, values)


def _check_references(session: Session, kind: Kind, checked: Checked) -> None:
    table, problems = checked.table, checked.problems
    if kind.name in ("posts", "consent"):
        _known(
            session,
            Account.id,
            table["account_id"],
            "account_id",
            problems,
            "unknown account {value!r}; import the accounts first",
        )
    if kind.name == "consent":
        _known(
            session,
            Collaborator.id,
            table["collaborator_id"],
            "collaborator_id",
            problems,
            "unknown collaborator {value!r}; add it with `consentry collaborator add`",
        )


def _check_resent(session: Session, kind: Kind, checked: Checked) -> set[int]:
    """Rows re-sending a recorded event with other content: each a problem; their indices."""
    if kind.name != "consent":
        return set()
    _, resent = resent_events(session, checked.table)
    for event in resent:
        checked.problems.rows[event.row].append((event.field, event.message()))
    return {event.row for event in resent}


def _problems(source: Source, checked: Checked) -> list[tuple[Problem, Any]]:
    """Every problem with the original row it belongs to, in file order."""
    rows = sorted(checked.problems.rows)
    originals = source.table.take(pa.array(rows, pa.int64())).to_pylist() if rows else []
    found = list(source.rejected)
    for index, original in zip(rows, originals, strict=True):
        position = int(source.positions[index])
        found.extend(
            (Problem(position, name, message), original)
            for name, message in checked.problems.rows[index]
        )
    return sorted(found, key=lambda item: item[0].position)


def _describe(problem: Problem) -> str:
    field = f"field {problem.field!r}: " if problem.field else ""
    return f"{field}{problem.message}"


def _rejection(
    source: Source,
    problems: list[tuple[Problem, Any]],
    hint: str,
    error: type[InvalidInput | Conflict],
) -> InvalidInput | Conflict:
    first = problems[0][0]
    message = first.message
    rest = [p for p, _ in problems[1:]]
    if rest:
        listed = "; ".join(f"{source.place(p.position)}, {_describe(p)}" for p in rest[:_SHOWN])
        more = f"; and {len(rest) - _SHOWN} more" if len(rest) > _SHOWN else ""
        message += f" (also {listed}{more})"
    message += f". Nothing was imported: {hint}"
    return error(message, where=source.where(first.position), field=first.field)


def _write_quarantine(path: Path, source: Source, problems: list[tuple[Problem, Any]]) -> None:
    """One JSON line per bad row: where it was, why, and the row itself. Temp name, then rename."""
    by_position: dict[int, tuple[list[Problem], Any]] = {}
    for problem, original in problems:
        by_position.setdefault(problem.position, ([], original))[0].append(problem)
    unit = source.unit.replace(" ", "_")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", encoding="utf-8") as out:
        for position, (found, original) in sorted(by_position.items()):
            record = {
                "source": source.name,
                unit: position,
                "reason": "; ".join(_describe(p) for p in found),
                "errors": [{"field": p.field, "message": p.message} for p in found],
                "row": original,
            }
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
    os.replace(partial, path)


def _check_quarantine_path(path: Path, source: Source) -> None:
    """Refuse, before anything is read or written, a quarantine that would overwrite the input
    or cannot be a file."""
    if path.is_dir():
        raise InvalidInput(
            "is a folder; give the quarantine a file name, e.g. bad-rows.jsonl",
            where=f"--quarantine {path}",
        )
    if path.exists() and Path(source.name).exists() and path.samefile(source.name):
        raise InvalidInput(
            "is the file being imported; give the quarantine another name",
            where=f"--quarantine {path}",
        )


@dataclass(frozen=True)
class ArchiveReport:
    """One import report per file of an account export that was loaded, and the items of the
    export left out on purpose, counted by reason."""

    reports: list[ImportReport]
    skipped: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [report.summary() for report in self.reports]
        lines += [f"skipped {count}: {reason}" for reason, count in sorted(self.skipped.items())]
        return "\n".join(lines)


def import_sources(
    engine: Engine,
    sources: list[tuple[str, Source]],
    *,
    actor: str,
    skipped: dict[str, int] | None = None,
) -> ArchiveReport:
    """Import (kind, source) pairs in order, in one transaction: all of them or none."""
    with bulk_session(engine) as session:
        reports = [
            import_source(session, kind_of(kind), source, actor=actor, hint="fix the export")
            for kind, source in sources
        ]
    return ArchiveReport(reports, skipped or {})

"""What-if: how many posts and accounts each license could take at a date under a draft policy
version, against the current ledger, compared with the versions in force.

The draft joins the published versions as if published at ``min(now, effective)``; both sides
are judged by the export's own bulk rule (``consent_snapshot.account_snapshot`` and
``post_verdicts``) over the one snapshot reader and the posts an export at that cut-off would
scan, with the cut-off the date asked and the ledger as recorded now. So a full export at that
cut-off, once the draft is published so, delivers the posts counted here (less any taken back
by deletion notices before, which the export leaves out).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine

from consentry.domain import consent_bulk, consent_snapshot
from consentry.domain.consent import license_in_force
from consentry.domain.jurisdiction import validate_key
from consentry.domain.types import DefaultRule, PolicyFacts
from consentry.errors import InvalidInput
from consentry.pipeline.sources import cutoff_sql
from consentry.reports.model import Column, Report, Row, Section
from consentry.store.arrow_io import read_table
from consentry.store.snapshot import consent_inputs


@dataclass(frozen=True)
class DraftPolicy:
    version: str
    purposes: frozenset[str]
    defaults: dict[str, dict[str, DefaultRule]]
    """purpose -> jurisdiction key -> default."""
    notice_days: int
    effective_at: datetime

    def facts(self, now: datetime) -> list[PolicyFacts]:
        """The draft as the consent rule sees a published version (one fact per purpose)."""
        published = min(now, self.effective_at)
        return [
            PolicyFacts(
                version=self.version,
                published_at=published,
                effective_at=self.effective_at,
                purposes=frozenset({purpose}),
                defaults=dict(self.defaults.get(purpose, {})),
                notice_days=self.notice_days,
            )
            for purpose in sorted(self.purposes | set(self.defaults))
        ]


_COUNT_SQL = """
SELECT a.jurisdiction, count(*) AS posts, count(DISTINCT v.account_id) AS accounts
FROM verdicts v JOIN account_places a ON a.id = v.account_id
WHERE v.reason IS NULL GROUP BY a.jurisdiction
"""


def simulate(
    engine: Engine, draft: DraftPolicy, *, at: datetime | None = None, now: datetime | None = None
) -> Report:
    """The draft's impact on every license in force at ``at`` (default: the draft's effective
    time, or now if that is later)."""
    now = now or datetime.now(UTC)
    at = at or max(now, draft.effective_at)
    as_of = max(now, at)
    inputs = consent_inputs(engine)
    current = inputs.reference.policies
    drafted = [p for p in current if p.version != draft.version] + draft.facts(now)
    posts = read_table(
        engine, table="posts", schema=consent_bulk.POST_SCHEMA, where=cutoff_sql(engine, at)
    )
    con = consent_bulk.connect()
    con.register("account_places", inputs.accounts.select(["id", "jurisdiction"]))
    per_license: list[Row] = []
    per_place: list[Row] = []
    for lic in inputs.reference.licenses:
        collaborator = inputs.reference.collaborators.get(lic.collaborator_id)
        if collaborator is None or collaborator.status != "active":
            continue
        if not license_in_force(lic, at):
            continue
        counts: dict[str, dict[str, tuple[int, int]]] = {}
        for side, policies in (("now", current), ("draft", drafted)):
            snapshot = consent_snapshot.account_snapshot(
                inputs.accounts,
                inputs.events,
                policies,
                purpose=lic.purpose,
                collaborator_id=lic.collaborator_id,
                listed_at=collaborator.listed_at,
                cutoff=at,
                as_of=as_of,
            )
            verdicts = consent_bulk.post_verdicts(
                posts, snapshot, lic, cutoff=at, as_of=as_of, con=con
            )
            con.register("verdicts", verdicts.select(["post_id", "account_id", "reason"]))
            for row in con.sql(_COUNT_SQL).to_arrow_table().to_pylist():
                counts.setdefault(row["jurisdiction"], {})[side] = (row["posts"], row["accounts"])
            con.unregister("verdicts")
            allowed = verdicts.filter(pc.is_null(verdicts["reason"]))
            counts.setdefault("", {})[side] = (
                allowed.num_rows,
                len(pc.unique(allowed["account_id"])),
            )
        total = counts.pop("")
        per_license.append(
            _row(
                {
                    "license_id": lic.id,
                    "collaborator_id": lic.collaborator_id,
                    "purpose": lic.purpose,
                },
                total,
            )
        )
        per_place += [
            _row({"license_id": lic.id, "jurisdiction": j}, c) for j, c in sorted(counts.items())
        ]
    counted = [
        Column(key="posts_now", label="Posts licensable now", kind="count"),
        Column(key="posts_draft", label="Posts under the draft", kind="count"),
        Column(key="posts_change", label="Change in posts", kind="count"),
        Column(key="accounts_now", label="Accounts with posts licensable now", kind="count"),
        Column(key="accounts_draft", label="Accounts under the draft", kind="count"),
        Column(key="accounts_change", label="Change in accounts", kind="count"),
    ]
    return Report(
        name="whatif",
        title=f"Impact of policy {draft.version}",
        description=(
            f"Posts and accounts each license could take at {at:%Y-%m-%d %H:%M} UTC under draft "
            f"{draft.version} (effective {draft.effective_at:%Y-%m-%d %H:%M} UTC), against the "
            "policy versions in force, with the ledger as recorded now."
        ),
        generated_at=now,
        parameters={"at": at.isoformat(timespec="seconds"), "draft": draft.version},
        sections=[
            Section(
                key="licenses",
                title="Per license",
                description="Posts the export would deliver, and the accounts they come from.",
                columns=[
                    Column(key="license_id", label="License"),
                    Column(key="collaborator_id", label="Collaborator"),
                    Column(key="purpose", label="Purpose"),
                    *counted,
                ],
                rows=per_license,
            ),
            Section(
                key="jurisdictions",
                title="Per license and jurisdiction",
                description="The same counts per jurisdiction of the accounts.",
                columns=[
                    Column(key="license_id", label="License"),
                    Column(key="jurisdiction", label="Jurisdiction"),
                    *counted,
                ],
                rows=per_place,
            ),
        ],
        notes=[
            "Counted as a full export at that cut-off would: reposts, direct messages, deleted, "
            "minors' and protected accounts' posts are never licensable; records taken back "
            "by a deletion notice are left out of a real export and are counted here."
        ],
    )


def _row(head: Row, sides: dict[str, tuple[int, int]]) -> Row:
    posts_now, accounts_now = sides.get("now", (0, 0))
    posts_draft, accounts_draft = sides.get("draft", (0, 0))
    return {
        **head,
        "posts_now": posts_now,
        "posts_draft": posts_draft,
        "posts_change": posts_draft - posts_now,
        "accounts_now": accounts_now,
        "accounts_draft": accounts_draft,
        "accounts_change": accounts_draft - accounts_now,
    }


class DraftFile(BaseModel):
    """A draft policy version as written in a YAML file for ``consentry simulate``."""

    model_config = ConfigDict(extra="forbid")

    version: str
    summary: str = ""
    purposes: list[str] = Field(default_factory=list)
    defaults: dict[str, dict[str, DefaultRule]] = Field(default_factory=dict)
    """purpose -> jurisdiction (DE, US-CA, EU, *) -> opt_in | opt_out | never."""
    notice_days: int = Field(default=30, ge=0)
    effective: datetime | date

    @field_validator("defaults")
    @classmethod
    def _keys(cls, value: dict[str, dict[str, DefaultRule]]) -> dict[str, dict[str, DefaultRule]]:
        return {p: {validate_key(k): rule for k, rule in by.items()} for p, by in value.items()}

    def draft(self) -> DraftPolicy:
        effective = self.effective
        if not isinstance(effective, datetime):
            effective = datetime.combine(effective, datetime.min.time(), UTC)
        elif effective.tzinfo is None:
            raise ValueError("effective: add a time zone ('Z' or '+00:00') or give a date")
        if not (set(self.purposes) | set(self.defaults)):
            raise ValueError("purposes: name at least one purpose the version covers")
        return DraftPolicy(
            version=self.version,
            purposes=frozenset(self.purposes),
            defaults=self.defaults,
            notice_days=self.notice_days,
            effective_at=effective,
        )


def read_draft(path: Path) -> DraftPolicy:
    """A draft from YAML, or a clear error naming the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"cannot read: {exc.strerror}", where=str(path)) from exc
    except yaml.YAMLError as exc:
        raise InvalidInput(f"not YAML: {exc}", where=str(path)) from exc
    try:
        return DraftFile.model_validate(data).draft()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(first["msg"], where=str(path), field=field or None) from exc
    except ValueError as exc:
        raise InvalidInput(str(exc), where=str(path)) from exc

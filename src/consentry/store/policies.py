"""Policy versions with per-jurisdiction defaults, and the purposes they cover."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from consentry.domain.jurisdiction import validate_key
from consentry.domain.purposes import BUILTIN_PURPOSES, validate_purpose
from consentry.domain.types import DefaultRule, PolicyFacts
from consentry.errors import Conflict, InvalidInput, NotFound
from consentry.store.ledger import append_audit_event
from consentry.store.models import PolicyDefault, PolicyVersion, Purpose


def ensure_builtin_purposes(session: Session) -> None:
    for key, (name, description) in BUILTIN_PURPOSES.items():
        if session.get(Purpose, key) is None:
            session.add(Purpose(key=key, name=name, description=description))
    session.flush()


def ensure_purpose(session: Session, key: str) -> Purpose:
    try:
        validate_purpose(key)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="purpose") from exc
    purpose = session.get(Purpose, key)
    if purpose is None:
        purpose = Purpose(key=key, name=key.replace("_", " ").title(), description="")
        session.add(purpose)
        session.flush()
    return purpose


NOTICE_DAYS = 30
"""The notice period staff are offered (CLI and admin form): users are told a month before a
newly listed collaborator is covered by an opt_out default. ``draft_policy`` itself defaults to
0, the schema's default, so that versions drafted by code keep the meaning they had."""


def purpose_keys(session: Session) -> list[str]:
    """Every purpose known to this platform, sorted."""
    return list(session.scalars(select(Purpose.key).order_by(Purpose.key)))


def parse_defaults(
    lines: Iterable[str], *, field: str, numbered: bool = False
) -> dict[str, dict[str, str]]:
    """``PURPOSE:JURISDICTION=DEFAULT`` items (CLI options, or the lines of the admin form's
    text when ``numbered``: blank lines and ``#`` comments skipped, errors name the line) into
    purpose -> jurisdiction -> default. The values are checked when the version is drafted."""
    out: dict[str, dict[str, str]] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip() if numbered else raw.strip()
        if not line and numbered:
            continue
        purpose, sep, rest = line.partition(":")
        jurisdiction, sep2, default = rest.partition("=")
        if not (sep and sep2 and purpose.strip() and jurisdiction.strip() and default.strip()):
            raise InvalidInput(
                f"{line!r} is not PURPOSE:JURISDICTION=DEFAULT, e.g. train_ai_system:US=opt_out",
                where=f"line {number}" if numbered else None,
                field=field,
            )
        out.setdefault(purpose.strip(), {})[jurisdiction.strip()] = default.strip()
    return out


def draft_policy(
    session: Session,
    *,
    version: str,
    summary: str,
    defaults: dict[str, dict[str, str]],
    purposes: Collection[str] = (),
    notice_days: int = 0,
    full_text: str = "",
    actor: str,
) -> PolicyVersion:
    """A draft version covering ``purposes`` and every purpose named in ``defaults``.

    ``defaults`` maps purpose -> jurisdiction key -> opt_in|opt_out|never; a covered purpose
    with no default for a jurisdiction is ``opt_in`` there, so a first policy may cover AI
    training with no defaults at all. ``notice_days``: how long users are told of a newly
    listed collaborator before an ``opt_out`` default covers it (DESIGN rule 6). ``full_text``:
    the policy as users read it in full, in Markdown.
    """
    if session.scalars(select(PolicyVersion).where(PolicyVersion.version == version)).first():
        raise Conflict(f"policy version {version!r} already exists")
    covered = sorted(set(purposes) | set(defaults))
    if not covered:
        raise InvalidInput(
            "a policy version must say which purposes it covers: name at least one "
            "(`--purpose train_ai_system` on the command line, the Purposes field on the admin "
            "page) or give a default PURPOSE:JURISDICTION=opt_in|opt_out|never",
            field="purposes",
        )
    if notice_days < 0:
        raise InvalidInput(f"expected 0 or more days, got {notice_days}", field="notice_days")
    for purpose in covered:
        ensure_purpose(session, purpose)
    policy = PolicyVersion(
        version=version,
        status="draft",
        summary=summary,
        full_text=full_text,
        purposes=covered,
        created_at=datetime.now(UTC),
        notice_days=notice_days,
    )
    session.add(policy)
    session.flush()
    for purpose, by_jurisdiction in defaults.items():
        for key, default in by_jurisdiction.items():
            try:
                rule = DefaultRule(default)
                jurisdiction = validate_key(key)
            except ValueError as exc:
                raise InvalidInput(str(exc), field=f"defaults.{purpose}.{key}") from exc
            session.add(
                PolicyDefault(
                    policy_version_id=policy.id,
                    purpose=purpose,
                    jurisdiction=jurisdiction,
                    default=rule.value,
                )
            )
    session.flush()
    append_audit_event(
        session,
        actor=actor,
        action="policy.draft",
        object_type="policy_version",
        object_id=version,
        details={
            "summary": summary,
            "purposes": covered,
            "defaults": defaults,
            "notice_days": notice_days,
            "full_text_sha256": hashlib.sha256(full_text.encode()).hexdigest(),
        },
    )
    return policy


def publish_policy(
    session: Session,
    *,
    version: str,
    effective_at: datetime,
    actor: str,
    published_at: datetime | None = None,
) -> PolicyVersion:
    policy = get_policy(session, version)
    if policy.status == "published":
        raise Conflict(f"policy version {version!r} is already published")
    published_at = published_at or datetime.now(UTC)
    if effective_at < published_at:
        raise InvalidInput(
            "the effective time must not be before publication: users are told first",
            field="effective_at",
        )
    policy.status, policy.published_at, policy.effective_at = (
        "published",
        published_at,
        effective_at,
    )
    append_audit_event(
        session,
        actor=actor,
        action="policy.publish",
        object_type="policy_version",
        object_id=version,
        details={
            "effective_at": effective_at.isoformat(),
            "published_at": published_at.isoformat(),
        },
    )
    return policy


def get_policy(session: Session, version: str) -> PolicyVersion:
    policy = session.scalars(select(PolicyVersion).where(PolicyVersion.version == version)).first()
    if policy is None:
        raise NotFound("policy", version)
    return policy


def list_policies(session: Session) -> list[PolicyVersion]:
    return list(session.scalars(select(PolicyVersion).order_by(PolicyVersion.id)))


def defaults_of(session: Session, policy: PolicyVersion) -> dict[str, dict[str, str]]:
    rows = session.scalars(
        select(PolicyDefault).where(PolicyDefault.policy_version_id == policy.id)
    )
    out: dict[str, dict[str, str]] = {}
    for row in rows:
        out.setdefault(row.purpose, {})[row.jurisdiction] = row.default
    return out


def policy_facts(session: Session) -> list[PolicyFacts]:
    """Every published version as the consent rule sees it: one fact per purpose it covers (a
    covered purpose with no default for a jurisdiction counts as ``opt_in`` there)."""
    facts = []
    for policy in list_policies(session):
        if policy.status != "published" or policy.published_at is None:
            continue
        assert policy.effective_at is not None
        defaults = defaults_of(session, policy)
        for purpose in sorted(set(policy.purposes) | set(defaults)):
            facts.append(
                PolicyFacts(
                    version=policy.version,
                    published_at=policy.published_at,
                    effective_at=policy.effective_at,
                    purposes=frozenset({purpose}),
                    defaults={k: DefaultRule(v) for k, v in defaults.get(purpose, {}).items()},
                    notice_days=policy.notice_days,
                )
            )
    return facts

"""Platform service tokens, collaborators' API keys and staff users: created, checked, revoked.

Secrets are shown once at creation and only their hashes are stored; every change is audited.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, Row, bindparam, select
from sqlalchemy.orm import Session

from consentry.errors import Conflict, InvalidInput, NotFound
from consentry.service.models import PlatformToken
from consentry.service.security import (
    hash_password,
    new_credential,
    password_matches,
    secret_matches,
    split_credential,
)
from consentry.store.ledger import append_audit_event
from consentry.store.models import ApiKey, Collaborator, StaffUser

PLATFORM_PREFIX = "cpt"
API_KEY_PREFIX = "cst"
SCOPES = ("deliveries:read", "notices:read", "notices:ack")
ROLES = ("viewer", "admin")


LIVE_TOKEN = select(PlatformToken.id, PlatformToken.name, PlatformToken.secret_hash).where(
    PlatformToken.id == bindparam("id"), PlatformToken.revoked_at.is_(None)
)


def create_platform_token(session: Session, *, name: str, actor: str) -> tuple[PlatformToken, str]:
    token_id, credential, digest = new_credential(PLATFORM_PREFIX)
    token = PlatformToken(
        id=token_id, name=name, secret_hash=digest, created_at=datetime.now(UTC), revoked_at=None
    )
    session.add(token)
    session.flush()
    append_audit_event(
        session,
        actor=actor,
        action="platform_token.create",
        object_type="platform_token",
        object_id=token_id,
        details={"name": name},
    )
    return token, credential


def platform_token_for(conn: Connection | Session, credential: str) -> Row | None:
    """The live token (id, name) the credential proves, or None; one indexed read."""
    parts = split_credential(PLATFORM_PREFIX, credential)
    if parts is None:
        return None
    token = conn.execute(LIVE_TOKEN, {"id": parts[0]}).first()
    return token if token and secret_matches(parts[1], token.secret_hash) else None


def revoke_platform_token(session: Session, *, token_id: str, actor: str) -> PlatformToken:
    token = session.get(PlatformToken, token_id)
    if token is None:
        raise NotFound("platform token", token_id, listing="consentry platform token create")
    if token.revoked_at is not None:
        raise Conflict(f"platform token {token_id!r} was already revoked")
    token.revoked_at = datetime.now(UTC)
    append_audit_event(
        session,
        actor=actor,
        action="platform_token.revoke",
        object_type="platform_token",
        object_id=token_id,
        details={"name": token.name},
    )
    return token


def create_api_key(
    session: Session, *, collaborator_id: str, scopes: list[str] | None, actor: str
) -> tuple[ApiKey, str]:
    if session.get(Collaborator, collaborator_id) is None:
        raise NotFound("collaborator", collaborator_id)
    scopes = list(scopes or SCOPES)
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise InvalidInput(
            f"unknown scopes {unknown}; expected some of {list(SCOPES)}", field="scopes"
        )
    key_id, credential, digest = new_credential(API_KEY_PREFIX)
    key = ApiKey(
        id=key_id,
        collaborator_id=collaborator_id,
        secret_hash=digest,
        scopes=scopes,
        created_at=datetime.now(UTC),
        revoked_at=None,
        last_used_at=None,
    )
    session.add(key)
    session.flush()
    append_audit_event(
        session,
        actor=actor,
        action="api_key.create",
        object_type="collaborator",
        object_id=collaborator_id,
        details={"key_id": key_id, "scopes": scopes},
    )
    return key, credential


def revoke_api_key(session: Session, *, key_id: str, actor: str) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("api key", key_id, listing="consentry collaborator key list COLLABORATOR")
    if key.revoked_at is not None:
        raise Conflict(f"api key {key_id!r} was already revoked at {key.revoked_at.isoformat()}")
    key.revoked_at = datetime.now(UTC)
    append_audit_event(
        session,
        actor=actor,
        action="api_key.revoke",
        object_type="collaborator",
        object_id=key.collaborator_id,
        details={"key_id": key_id},
    )
    return key


def api_keys_of(session: Session, collaborator_id: str) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.collaborator_id == collaborator_id)
            .order_by(ApiKey.created_at)
        )
    )


def api_key_for(session: Session, credential: str) -> ApiKey | None:
    """The unrevoked key the credential proves, or None."""
    parts = split_credential(API_KEY_PREFIX, credential)
    if parts is None:
        return None
    key = session.get(ApiKey, parts[0])
    if key is None or key.revoked_at is not None:
        return None
    return key if secret_matches(parts[1], key.secret_hash) else None


def add_staff_user(
    session: Session, *, username: str, password: str, role: str, actor: str
) -> StaffUser:
    if role not in ROLES:
        raise InvalidInput(f"expected one of {', '.join(ROLES)}", field="role")
    if len(password) < 12:
        raise InvalidInput("must be at least 12 characters", field="password")
    if session.get(StaffUser, username) is not None:
        raise Conflict(f"staff user {username!r} already exists")
    user = StaffUser(
        username=username,
        password_hash=hash_password(password),
        role=role,
        created_at=datetime.now(UTC),
    )
    session.add(user)
    session.flush()
    append_audit_event(
        session,
        actor=actor,
        action="staff.add",
        object_type="staff_user",
        object_id=username,
        details={"role": role},
    )
    return user


def staff_user_for_login(session: Session, username: str, password: str) -> StaffUser | None:
    user = session.get(StaffUser, username)
    if user is None or not password_matches(password, user.password_hash):
        return None
    return user

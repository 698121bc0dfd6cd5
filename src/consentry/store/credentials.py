"""Platform service tokens, collaborators' API keys, staff users and spent sign-in nonces.

Secrets are shown once at creation and only their hashes are stored (SHA-256 for random
credentials, Argon2 for passwords: ``store.passwords``); every comparison of secrets is
constant-time and every change is audited. A password or role change ends the staff member's
sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Row, bindparam, delete, select
from sqlalchemy.orm import Session

from consentry.errors import Conflict, InvalidInput, NotFound
from consentry.store.ledger import append_audit_event
from consentry.store.models import ApiKey, Collaborator, PlatformToken, SigninNonce, StaffUser
from consentry.store.passwords import hash_password, verify_password
from consentry.store.sessions import end_sessions_of

PLATFORM_PREFIX = "cpt"
API_KEY_PREFIX = "cst"
SCOPES = ("deliveries:read", "notices:read", "notices:ack")
ROLES = ("viewer", "admin")
KEY_TOUCH_INTERVAL = timedelta(minutes=1)
"""How stale ``api_keys.last_used_at`` may get: one write a minute per key, not per request."""


def sha256_hex(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_credential(prefix: str) -> tuple[str, str, str]:
    """(id, full credential ``<prefix>_<id>_<secret>`` to show once, SHA-256 of the secret)."""
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    return key_id, f"{prefix}_{key_id}_{secret}", sha256_hex(secret)


def split_credential(prefix: str, credential: str) -> tuple[str, str] | None:
    """(id, secret) of a credential of the expected shape, else None."""
    head, sep, rest = credential.partition("_")
    key_id, sep2, secret = rest.partition("_")
    if head != prefix or not (sep and sep2 and key_id and secret):
        return None
    return key_id, secret


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(sha256_hex(secret), stored_hash)


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


def platform_token_for(conn: Connection | Session, *, credential: str) -> Row | None:
    """The live token (id, name) the credential proves, or None; one indexed read (a bare
    connection will do, so the hot path needs no ORM session)."""
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


def revoke_api_key(
    session: Session, *, key_id: str, actor: str, collaborator_id: str | None = None
) -> ApiKey:
    """Revoke a key; with ``collaborator_id``, a key of another collaborator is not found."""
    key = session.get(ApiKey, key_id)
    if key is None or collaborator_id not in (None, key.collaborator_id):
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


def api_keys_of(session: Session, *, collaborator_id: str) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.collaborator_id == collaborator_id)
            .order_by(ApiKey.created_at)
        )
    )


def api_key_for(session: Session, *, credential: str) -> ApiKey | None:
    """The unrevoked key the credential proves, or None."""
    parts = split_credential(API_KEY_PREFIX, credential)
    if parts is None:
        return None
    key = session.get(ApiKey, parts[0])
    if key is None or key.revoked_at is not None:
        return None
    return key if secret_matches(parts[1], key.secret_hash) else None


def record_key_use(key: ApiKey, *, now: datetime) -> None:
    """Keep ``last_used_at`` to within ``KEY_TOUCH_INTERVAL`` (shown to staff, never audited:
    a use is not a change)."""
    if key.last_used_at is None or now - key.last_used_at > KEY_TOUCH_INTERVAL:
        key.last_used_at = now


MIN_PASSWORD_CHARS = 12


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise InvalidInput(f"expected one of {', '.join(ROLES)}", field="role")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"must be at least {MIN_PASSWORD_CHARS} characters", field="password")


def add_staff_user(
    session: Session, *, username: str, password: str, role: str, actor: str
) -> StaffUser:
    _check_role(role)
    _check_password(password)
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


def _existing_staff_user(session: Session, username: str) -> StaffUser:
    user = session.get(StaffUser, username)
    if user is None:
        raise NotFound("staff user", username, listing="consentry staff add USER")
    return user


def set_staff_password(session: Session, *, username: str, password: str, actor: str) -> int:
    """Change the password and end the user's sessions; returns how many were ended."""
    _check_password(password)
    user = _existing_staff_user(session, username)
    user.password_hash = hash_password(password)
    ended = end_sessions_of(session, kind="staff", subject=username)
    append_audit_event(
        session,
        actor=actor,
        action="staff.password",
        object_type="staff_user",
        object_id=username,
        details={"sessions_ended": ended},
    )
    return ended


def set_staff_role(session: Session, *, username: str, role: str, actor: str) -> int:
    """Change the role and end the user's sessions (a cookie never carries an old role on);
    returns how many were ended."""
    _check_role(role)
    user = _existing_staff_user(session, username)
    previous, user.role = user.role, role
    ended = end_sessions_of(session, kind="staff", subject=username)
    append_audit_event(
        session,
        actor=actor,
        action="staff.role",
        object_type="staff_user",
        object_id=username,
        details={"from": previous, "to": role, "sessions_ended": ended},
    )
    return ended


def get_staff_user(session: Session, *, username: str) -> StaffUser | None:
    """The staff user, or None (a session may outlive its user)."""
    return session.get(StaffUser, username)


def staff_user_for_login(session: Session, *, username: str, password: str) -> StaffUser | None:
    """The staff user whose password this is, or None. A hash of an older scheme is replaced
    by the current one here, in the caller's transaction."""
    user = session.get(StaffUser, username)
    valid, upgraded = verify_password(password, user.password_hash if user else None)
    if user is None or not valid:
        return None
    if upgraded is not None:
        user.password_hash = upgraded
    return user


def spend_signin_nonce(
    session: Session, *, nonce: str, account_id: str, expires_at: datetime, now: datetime
) -> bool:
    """Record a sign-in link's one-time nonce as used; False if it was used before.

    Nonces are kept only until their link expires (an expired link is refused anyway), so the
    table stays small. Two uses at the same moment meet the primary key at commit.
    """
    if session.get(SigninNonce, nonce) is not None:
        return False
    session.execute(delete(SigninNonce).where(SigninNonce.expires_at < now))
    session.add(SigninNonce(nonce=nonce, account_id=account_id, used_at=now, expires_at=expires_at))
    return True

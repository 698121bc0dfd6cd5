"""Signed sign-in links, session cookies with CSRF tokens, bad-credential limits.

Every signature is HMAC-SHA256 (itsdangerous); every comparison of secrets is constant-time.
Secrets at rest (hashed tokens, keys and passwords) are ``store.credentials``'s concern.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

SIGNIN_SALT = "consentry.signin"
USER_SESSION_SALT = "consentry.session.user"
STAFF_SESSION_SALT = "consentry.session.staff"
SIGNER = {"digest_method": hashlib.sha256}


class SigninRefused(Exception):
    """A sign-in link that must not open a session; the message is shown to the user."""


@dataclass(frozen=True)
class SigninClaims:
    account_id: str
    nonce: str
    expires_at: datetime


def make_signin_token(
    secret: str, account_id: str, *, ttl_seconds: int = 300, now: datetime | None = None
) -> str:
    """What the platform does to sign a user in: account id, expiry and a one-time nonce."""
    expires = (now or datetime.now(UTC)) + timedelta(seconds=ttl_seconds)
    claims = {"sub": account_id, "exp": int(expires.timestamp()), "nonce": secrets.token_hex(16)}
    return URLSafeSerializer(secret, salt=SIGNIN_SALT, signer_kwargs=SIGNER).dumps(claims)


def read_signin_token(
    secret: str, token: str, *, now: datetime, max_age_seconds: int
) -> SigninClaims:
    """The claims of a genuine, unexpired token; SigninRefused with the reason otherwise."""
    try:
        claims = URLSafeSerializer(secret, salt=SIGNIN_SALT, signer_kwargs=SIGNER).loads(token)
        account_id, exp, nonce = str(claims["sub"]), int(claims["exp"]), str(claims["nonce"])
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise SigninRefused(
            "This sign-in link is not genuine: its signature does not match. "
            "Open the settings again from the app to get a new link."
        ) from exc
    expires_at = datetime.fromtimestamp(exp, UTC)
    if expires_at <= now:
        raise SigninRefused(
            f"This sign-in link expired at {expires_at:%Y-%m-%d %H:%M:%S} UTC. "
            "Open the settings again from the app to get a new link."
        )
    if expires_at > now + timedelta(seconds=max_age_seconds):
        raise SigninRefused(
            f"This sign-in link claims to be valid for more than {max_age_seconds // 60} "
            "minutes, which sign-in links never are. Ask the app for a new link."
        )
    if not 16 <= len(nonce) <= 64:
        raise SigninRefused("This sign-in link has no usable one-time code. Ask for a new link.")
    return SigninClaims(account_id, nonce, expires_at)


@dataclass(frozen=True)
class SessionData:
    subject: str
    """The account id (user sessions) or the staff username."""
    csrf: str


def make_session_cookie(secret: str, salt: str, subject: str) -> str:
    """A signed cookie value holding who is signed in and the session's CSRF token."""
    serializer = URLSafeTimedSerializer(secret, salt=salt, signer_kwargs=SIGNER)
    return serializer.dumps({"sub": subject, "csrf": secrets.token_urlsafe(24)})


def read_session_cookie(
    secret: str, salt: str, value: str | None, *, max_age_seconds: int
) -> SessionData | None:
    if not value:
        return None
    serializer = URLSafeTimedSerializer(secret, salt=salt, signer_kwargs=SIGNER)
    try:
        data = serializer.loads(value, max_age=max_age_seconds)
        return SessionData(str(data["sub"]), str(data["csrf"]))
    except (SignatureExpired, BadSignature, KeyError, TypeError):
        return None


def csrf_matches(session: SessionData, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(session.csrf, str(submitted))


class FailureLimiter:
    """Counts bad credentials per client IP in a fixed window; over the limit, the IP waits.

    Kept in memory per server process: a flood costs no database writes, and with N workers an
    attacker gets at most N times the limit per window.
    """

    def __init__(self, limit: int, window_seconds: int) -> None:
        self.limit, self.window = limit, window_seconds
        self._failures: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int | None:
        """Seconds the client must wait, or None if it may try."""
        with self._lock:
            started, count = self._failures.get(client, (0.0, 0))
            left = started + self.window - time.monotonic()
            if count >= self.limit and left > 0:
                return max(1, int(left + 0.999))
            return None

    def failed(self, client: str) -> None:
        with self._lock:
            now = time.monotonic()
            started, count = self._failures.get(client, (now, 0))
            if now - started >= self.window:
                started, count = now, 0
            self._failures[client] = (started, count + 1)
            if len(self._failures) > 100_000:  # bound memory under a spray of addresses
                self._failures = {
                    ip: v for ip, v in self._failures.items() if now - v[0] < self.window
                }

"""Signed sign-in links and CSRF tokens.

Every signature is HMAC-SHA256 (itsdangerous); every comparison of secrets is constant-time.
Sessions live in the database (``store.sessions``); secrets at rest (hashed tokens, keys and
passwords) are ``store.credentials``'s concern.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

SIGNIN_SALT = "consentry.signin"
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
        account_id, nonce = str(claims["sub"]), str(claims["nonce"])
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (BadSignature, KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise SigninRefused(
            "This sign-in link is not genuine: its signature does not match. "
            "Open the settings again from the app to get a new link."
        ) from exc
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


def csrf_token_for(secret: str, session_id: str) -> str:
    """A session's CSRF token: an HMAC of its id under the session secret, so it is never
    stored, differs per session and cannot be made without the secret. The staff sign-in
    form's pre-session id gets one the same way."""
    return hmac.new(secret.encode(), b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()


def csrf_matches(expected: str, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(expected, str(submitted))

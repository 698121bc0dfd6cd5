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

from consentry.service.web.times import known_zone

SIGNIN_SALT = "consentry.signin"
SIGNER = {"digest_method": hashlib.sha256}


class SigninRefused(Exception):
    """A sign-in link that must not open a session; the message is shown to the user."""


@dataclass(frozen=True)
class SigninClaims:
    account_id: str
    nonce: str
    expires_at: datetime
    zone: str | None = None
    """The user's IANA time zone as the platform knows it (claim ``tz``), if it is one."""


def make_signin_token(
    secret: str,
    account_id: str,
    *,
    ttl_seconds: int = 300,
    now: datetime | None = None,
    zone: str | None = None,
) -> str:
    """What the platform does to sign a user in: account id, expiry and a one-time nonce, and
    optionally the user's IANA time zone (``Europe/Berlin``), so the pages show their times
    without JavaScript."""
    if zone is not None and known_zone(zone) is None:
        raise ValueError(f"zone: {zone!r} is not an IANA time zone name such as Europe/Berlin")
    expires = (now or datetime.now(UTC)) + timedelta(seconds=ttl_seconds)
    claims = {"sub": account_id, "exp": int(expires.timestamp()), "nonce": secrets.token_hex(16)}
    if zone is not None:
        claims["tz"] = zone
    return URLSafeSerializer(secret, salt=SIGNIN_SALT, signer_kwargs=SIGNER).dumps(claims)


def read_signin_token(
    secret: str, token: str, *, now: datetime, max_age_seconds: int
) -> SigninClaims:
    """The claims of a genuine, unexpired token; SigninRefused with the reason otherwise."""
    try:
        claims = URLSafeSerializer(secret, salt=SIGNIN_SALT, signer_kwargs=SIGNER).loads(token)
        account_id, nonce = str(claims["sub"]), str(claims["nonce"])
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
        zone = claims.get("tz")
    except (BadSignature, KeyError, TypeError, ValueError, OverflowError, OSError) as exc:
        raise SigninRefused(
            "This sign-in link is not genuine: it was changed, cut short or not made by the app."
        ) from exc
    if expires_at <= now:
        raise SigninRefused(
            "This sign-in link has expired: links work for a few minutes only "
            f"(this one until {expires_at:%H:%M} UTC)."
        )
    if expires_at > now + timedelta(seconds=max_age_seconds):
        raise SigninRefused(
            f"This sign-in link claims to be valid for more than {max_age_seconds // 60} "
            "minutes, which sign-in links never are."
        )
    if not 16 <= len(nonce) <= 64:
        raise SigninRefused("This sign-in link has no usable one-time code.")
    # A zone the zone database lacks is ignored (times then say UTC) rather than refused: the
    # user could do nothing about it.
    known = zone if isinstance(zone, str) and known_zone(zone) else None
    return SigninClaims(account_id, nonce, expires_at, known)


def csrf_token_for(secret: str, session_id: str) -> str:
    """A session's CSRF token: an HMAC of its id under the session secret, so it is never
    stored, differs per session and cannot be made without the secret. The staff sign-in
    form's pre-session id gets one the same way."""
    return hmac.new(secret.encode(), b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()


def csrf_matches(expected: str, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(expected, str(submitted))

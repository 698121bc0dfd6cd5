"""Staff passwords, hashed with pwdlib's Argon2; hashes of the earlier scrypt scheme are still
verified and replaced by Argon2 at the next sign-in (pwdlib's ``verify_and_update``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.base import ensure_bytes, ensure_str


class LegacyScryptHasher:
    """Verifies ``scrypt$n$r$p$salt$digest`` hashes written before Argon2; never writes one."""

    @classmethod
    def identify(cls, hash: str | bytes) -> bool:
        return ensure_str(hash).startswith("scrypt$")

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        raise NotImplementedError("new passwords are hashed with Argon2")

    def verify(self, password: str | bytes, hash: str | bytes) -> bool:
        try:
            _, n, r, p, salt, digest = ensure_str(hash).split("$")
            expected = base64.b64decode(digest)
            actual = hashlib.scrypt(
                ensure_bytes(password),
                salt=base64.b64decode(salt),
                n=int(n),
                r=int(r),
                p=int(p),
                dklen=len(expected),
            )
        except ValueError:
            return False
        return hmac.compare_digest(actual, expected)

    def check_needs_rehash(self, hash: str | bytes) -> bool:
        return True


PASSWORDS = PasswordHash((Argon2Hasher(), LegacyScryptHasher()))


def hash_password(password: str) -> str:
    return PASSWORDS.hash(password)


def verify_password(password: str, stored: str | None) -> tuple[bool, str | None]:
    """(whether ``password`` matches, the hash to store instead when it should be upgraded).

    Without a stored hash (no such user) a dummy hash is checked all the same, so the answer
    takes as long as for a real user and does not tell which usernames exist."""
    if stored is None:
        PASSWORDS.verify(password, _dummy_hash())
        return False, None
    try:
        return PASSWORDS.verify_and_update(password, stored)
    except UnknownHashError:  # a hash of no known scheme proves nothing
        return False, None


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return PASSWORDS.hash("not anyone's password")

"""The export's secrets: the Ed25519 key that signs manifests, the per-collaborator
pseudonym keys, and the key that encrypts webhook signing secrets at rest.

Both live under ``<home>/keys`` (directory 0700, files 0600, created once and never overwritten)
or come from environment variables, the way a KMS or secret store injects them. A key file that
others can read is refused rather than silently used: a leaked pseudonym key lets anyone link
a collaborator's records back to accounts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import secrets
import stat
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from consentry.errors import InvalidInput

SIGNING_KEY_ENV = "CONSENTRY_SIGNING_KEY"
PSEUDONYM_KEY_ENV_PREFIX = "CONSENTRY_PSEUDONYM_KEY_"
SIGNING_KEY_FILE = "signing-ed25519.pem"
WEBHOOK_KEY_ENV = "CONSENTRY_WEBHOOK_SECRETS_KEY"
WEBHOOK_KEY_FILE = "webhook-secrets.key"
KEY_BYTES = 32
KEY_ID_HEX = 16

_COLLABORATOR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def keys_dir(home: Path) -> Path:
    """``<home>/keys``, created 0700 if missing."""
    directory = home / "keys"
    if not directory.is_dir():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
    return directory


def signing_key(home: Path) -> Ed25519PrivateKey:
    """The manifest signing key: from $CONSENTRY_SIGNING_KEY, else the key file, else a new one."""
    raw = _env_key(SIGNING_KEY_ENV)
    if raw is not None:
        return Ed25519PrivateKey.from_private_bytes(raw)
    path = keys_dir(home) / SIGNING_KEY_FILE
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _create_once(path, pem)
    data = _read_private_file(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError as exc:
        raise InvalidInput(f"not a PEM private key ({exc})", where=str(path)) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(
            f"holds a {type(key).__name__}, expected an Ed25519 private key", where=str(path)
        )
    return key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public half as SubjectPublicKeyInfo PEM, for the manifest and for collaborators."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short stable name for a public key: the first 16 hex of SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:KEY_ID_HEX]


def load_public_key(pem: bytes | str, *, where: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM, or a clear error naming where the PEM came from."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise InvalidInput(f"not a PEM public key ({exc})", where=where) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(
            f"holds a {type(key).__name__}, expected an Ed25519 public key", where=where
        )
    return key


def pseudonym_key(home: Path, collaborator_id: str) -> bytes:
    """This collaborator's 32-byte HMAC key: from its environment variable, else its key file,
    else freshly generated (and then kept forever, so its pseudonyms stay stable)."""
    _check_collaborator_id(collaborator_id)
    raw = _env_key(pseudonym_key_env(collaborator_id))
    if raw is not None:
        return raw
    path = keys_dir(home) / f"pseudonym-{collaborator_id}.key"
    if not path.exists():
        _create_once(path, secrets.token_bytes(KEY_BYTES))
    data = _read_private_file(path)
    if len(data) != KEY_BYTES:
        raise InvalidInput(
            f"holds {len(data)} bytes, expected a {KEY_BYTES}-byte key", where=str(path)
        )
    return data


def webhook_cipher(home: Path) -> Fernet:
    """The Fernet that encrypts webhook signing secrets in the database: its 32-byte key from
    $CONSENTRY_WEBHOOK_SECRETS_KEY, else the key file, else a new one (kept forever: without it
    the stored secrets cannot be read and every endpoint must be registered again)."""
    raw = _env_key(WEBHOOK_KEY_ENV)
    if raw is None:
        path = keys_dir(home) / WEBHOOK_KEY_FILE
        if not path.exists():
            _create_once(path, secrets.token_bytes(KEY_BYTES))
        raw = _read_private_file(path)
        if len(raw) != KEY_BYTES:
            raise InvalidInput(
                f"holds {len(raw)} bytes, expected a {KEY_BYTES}-byte key", where=str(path)
            )
    return Fernet(base64.urlsafe_b64encode(raw))


def pseudonym_key_env(collaborator_id: str) -> str:
    """The variable that overrides a collaborator's key: ``acme-ai`` -> ...``_ACME_AI``."""
    return PSEUDONYM_KEY_ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", collaborator_id.upper())


def _check_collaborator_id(collaborator_id: str) -> None:
    if not _COLLABORATOR_ID.fullmatch(collaborator_id):
        raise InvalidInput(
            f"{collaborator_id!r} cannot name a key file: use letters, digits, '.', '_' "
            "and '-', starting with a letter or digit (at most 128 characters)",
            field="collaborator_id",
        )


def _env_key(name: str) -> bytes | None:
    value = os.environ.get(name)
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except binascii.Error as exc:
        raise InvalidInput(f"is not base64 ({exc})", where=f"environment variable {name}") from exc
    if len(raw) != KEY_BYTES:
        raise InvalidInput(
            f"decodes to {len(raw)} bytes, expected {KEY_BYTES} (base64 of a raw key)",
            where=f"environment variable {name}",
        )
    return raw


def _read_private_file(path: Path) -> bytes:
    """The file's bytes, refused if group or others may read or write it."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InvalidInput(
            f"permissions are {mode:04o}, wider than 0600, so other users may read this key; "
            f"run `chmod 600 {path}` (and rotate the key if it may have leaked)",
            where=str(path),
        )
    return path.read_bytes()


def _create_once(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (0600), unless another process got there first.

    The bytes go to a private temporary file, are fsynced, then hard-linked into place: unlike a
    rename, a link never replaces an existing key, so a concurrent creator cannot overwrite it.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return  # someone else's key won; use theirs
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (the directory entry itself is flushed)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

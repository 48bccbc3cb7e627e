"""Secrets at rest that the app must read back: one scheme for all of them.

What is sealed: authenticator-app secrets ("totp"), the OpenID Connect
signing keys' private halves ("oidc-signing-key") and webhook endpoints'
secrets ("webhook"). A copy of the database (a dump, a backup, a replica)
yields none of them without SECRET_KEY.

The scheme (v1): AES-256-GCM; its key is HKDF-SHA256 of SECRET_KEY with
info b"savitarna/<purpose>", so each purpose has a key of its own; a random
96-bit nonce per value; the associated data binds the value to its row
(b"savitarna/<purpose>" NUL context, where the context is e.g. the kid or the
account id), so a value copied into another row, or read for another
purpose, does not open. Stored as text: "v1." + base64url(nonce || ciphertext
and tag), unpadded. The prefix names the scheme: a later one gets "v2.".

Rotation: SECRET_KEY_FALLBACKS (a list in the config; comma-separated in the
environment, as Flask 3.1 reads it for sessions) are tried after SECRET_KEY
when opening. What opens only under a fallback, or is stored in a format from
before v1, comes back with `resealed`: the value sealed anew under SECRET_KEY,
which the caller stores (migration 0014 did it once for every row; the
callers do it for what was written after, e.g. by an instance not yet
upgraded during a rolling deploy)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

PREFIX = "v1."
NONCE_BYTES = 12
PURPOSES = ("totp", "oidc-signing-key", "webhook")


class Unreadable(ValueError):
    """The value opens under none of the keys (or was changed, or belongs to
    another row or purpose)."""


@dataclass(frozen=True)
class Opened:
    value: bytes
    # The value sealed under SECRET_KEY when it was stored otherwise (a
    # fallback key, an older format); None when it is stored as it should be.
    resealed: str | None = None

    @property
    def text(self) -> str:
        return self.value.decode()


def secret_keys() -> list[bytes]:
    """SECRET_KEY, then SECRET_KEY_FALLBACKS in their order."""
    config = current_app.config
    keys = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
    return [key.encode() if isinstance(key, str) else key for key in keys]


def _cipher(secret: bytes, purpose: str) -> AESGCM:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown sealing purpose {purpose!r}")
    info = b"savitarna/" + purpose.encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)
    return AESGCM(key)


def _associated(purpose: str, context: str) -> bytes:
    return b"savitarna/" + purpose.encode() + b"\x00" + context.encode()


def seal(purpose: str, value: bytes | str, context: str) -> str:
    """`value` sealed under SECRET_KEY for `purpose`, bound to `context`."""
    data = value.encode() if isinstance(value, str) else value
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(secret_keys()[0], purpose).encrypt(nonce, data, _associated(purpose, context))
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def is_current(sealed: str) -> bool:
    """Whether `sealed` is in the current format (not which key sealed it)."""
    return sealed.startswith(PREFIX)


def unseal(purpose: str, sealed: str, context: str) -> Opened:
    """Open a value sealed for `purpose` and `context`, or raise Unreadable."""
    keys = secret_keys()
    if not is_current(sealed):
        legacy = LEGACY.get(purpose)
        value = legacy(sealed, context, keys) if legacy else None
        if value is None:
            raise Unreadable(f"a {purpose} value that opens under no key")
        return Opened(value, seal(purpose, value, context))
    try:
        text = sealed[len(PREFIX) :]
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise Unreadable(f"a {purpose} value that is not base64url") from exc
    nonce, body = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    for index, key in enumerate(keys):
        try:
            value = _cipher(key, purpose).decrypt(nonce, body, _associated(purpose, context))
        except (InvalidTag, ValueError):
            continue
        return Opened(value, seal(purpose, value, context) if index else None)
    raise Unreadable(f"a {purpose} value that opens under no key")


# -- formats from before v1 (read, never written) ----------------------------


def _legacy_totp(sealed: str, context: str, keys: list[bytes]) -> bytes | None:
    """Fernet, key HMAC-SHA256(SECRET_KEY, "savitarna totp secret v1"), unbound."""
    for key in keys:
        derived = hmac.new(key, b"savitarna totp secret v1", hashlib.sha256).digest()
        try:
            return Fernet(base64.urlsafe_b64encode(derived)).decrypt(sealed.encode())
        except (InvalidToken, ValueError):
            continue
    return None


def _legacy_oidc(sealed: str, context: str, keys: list[bytes]) -> bytes | None:
    """base64(nonce || AES-GCM), key HKDF(info "savitarna oidc signing keys"), the kid bound."""
    try:
        raw = base64.b64decode(sealed, validate=True)
    except (binascii.Error, ValueError):
        return None
    for key in keys:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"savitarna oidc signing keys"
        ).derive(key)
        try:
            return AESGCM(derived).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError):
            continue
    return None


def _legacy_webhook(sealed: str, context: str, keys: list[bytes]) -> bytes | None:
    """Webhook secrets were stored in clear (whsec_...)."""
    return sealed.encode() if sealed.startswith("whsec_") else None


LEGACY: dict[str, Callable[[str, str, list[bytes]], bytes | None]] = {
    "totp": _legacy_totp,
    "oidc-signing-key": _legacy_oidc,
    "webhook": _legacy_webhook,
}

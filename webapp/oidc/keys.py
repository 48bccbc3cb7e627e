"""Signing keys per tenant: ES256, a `kid` each, the private half encrypted
with a key derived from SECRET_KEY (AES-GCM), so neither a database dump nor a
backup can sign an ID token. `rotate` adds a new key and retires the current
one, which stays published until every ID token it signed has expired."""

from __future__ import annotations

import base64
import os
import secrets
from datetime import timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import or_, select

from ..extensions import db
from ..models import Tenant, utcnow
from .models import SigningKey

ALG = "ES256"


def _cipher() -> AESGCM:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"savitarna oidc signing keys"
    ).derive(secret)
    return AESGCM(key)


def _seal(pem: bytes, kid: str) -> str:
    nonce = os.urandom(12)
    return base64.b64encode(nonce + _cipher().encrypt(nonce, pem, kid.encode())).decode()


def _open(sealed: str, kid: str) -> bytes:
    raw = base64.b64decode(sealed)
    return _cipher().decrypt(raw[:12], raw[12:], kid.encode())


def add_key(tenant: Tenant) -> SigningKey:
    """A new signing key for the tenant (flushed, not committed)."""
    key = ECKey.generate_key("P-256")
    kid = secrets.token_urlsafe(12)
    public = {**key.as_dict(private=False), "kid": kid, "alg": ALG, "use": "sig"}
    row = SigningKey(
        tenant_id=tenant.id,
        kid=kid,
        alg=ALG,
        private_key=_seal(key.as_pem(private=True), kid),
        public_jwk=public,
    )
    db.session.add(row)
    db.session.flush()
    return row


def current_key(tenant: Tenant) -> SigningKey:
    """The key that signs now; the first one is made on first use."""
    row = db.session.scalar(
        select(SigningKey)
        .where(SigningKey.tenant_id == tenant.id, SigningKey.retired_at.is_(None))
        .order_by(SigningKey.id.desc())
        .limit(1)
    )
    if row is None:
        row = add_key(tenant)
        db.session.commit()
    return row


def private_key(row: SigningKey) -> ECKey:
    return ECKey.import_key(_open(row.private_key, row.kid), {"kid": row.kid, "alg": row.alg})


def rotate(tenant: Tenant) -> SigningKey:
    """Retire the tenant's current key(s) and add a new one (committed)."""
    now = utcnow()
    for row in db.session.scalars(
        select(SigningKey).where(SigningKey.tenant_id == tenant.id, SigningKey.retired_at.is_(None))
    ):
        row.retired_at = now
    row = add_key(tenant)
    db.session.commit()
    return row


def published_keys(tenant: Tenant) -> list[SigningKey]:
    """The keys in the JWKS: the current one and those retired less than an
    ID token's lifetime ago (what they signed may still be presented)."""
    current_key(tenant)
    since = utcnow() - timedelta(seconds=current_app.config["OIDC_ID_TOKEN_SECONDS"])
    return list(
        db.session.scalars(
            select(SigningKey)
            .where(
                SigningKey.tenant_id == tenant.id,
                or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > since),
            )
            .order_by(SigningKey.id.desc())
        )
    )


def jwks(tenant: Tenant) -> dict:
    return {"keys": [row.public_jwk for row in published_keys(tenant)]}


def public_key_set(tenant: Tenant) -> KeySet:
    return KeySet.import_key_set(jwks(tenant))

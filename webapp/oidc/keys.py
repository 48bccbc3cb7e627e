"""Signing keys per tenant: ES256, a `kid` each, the private half sealed by
webapp/sealing.py (AES-256-GCM under a key derived from SECRET_KEY, the kid
bound), so neither a database dump nor a backup can sign an ID token.
`rotate` adds a new key and retires the current one, which stays published
until every ID token it signed has expired. A key
sealed under an earlier SECRET_KEY opens while that key is in
SECRET_KEY_FALLBACKS; without it, `signing_key` rotates by itself, so the
token endpoint keeps answering."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import or_, select

from .. import sealing
from ..extensions import db
from ..models import Tenant, utcnow
from ..security import random_id
from .models import SigningKey

ALG = "ES256"
PURPOSE = "oidc-signing-key"

log = logging.getLogger(__name__)


def _seal(pem: bytes, kid: str) -> str:
    return sealing.seal(PURPOSE, pem, kid)


def add_key(tenant: Tenant) -> SigningKey:
    """A new signing key for the tenant (flushed, not committed)."""
    key = ECKey.generate_key("P-256")
    kid = random_id(12)
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
    """The row's private key, or sealing.Unreadable. One stored in the format
    from before webapp/sealing.py or under a SECRET_KEY_FALLBACKS key is
    sealed anew on the row (written with the next commit)."""
    opened = sealing.unseal(PURPOSE, row.private_key, row.kid)
    if opened.resealed:
        row.private_key = opened.resealed
    return ECKey.import_key(opened.value, {"kid": row.kid, "alg": row.alg})


def signing_key(tenant: Tenant) -> tuple[SigningKey, ECKey]:
    """The key that signs now, as its row and opened.

    After SECRET_KEY has changed without the old one kept in
    SECRET_KEY_FALLBACKS, the stored key cannot be opened (every instance
    must run the same SECRET_KEY). Rather
    than answer 500 to every token request until an operator runs `flask oidc
    keys rotate`, it is retired here and a new one made (committed): the old
    public half stays published until the ID tokens it signed have expired, so
    applications keep verifying them. A warning says it happened."""
    row = current_key(tenant)
    try:
        return row, private_key(row)
    except (sealing.Unreadable, ValueError):
        log.warning(
            "oidc: signing key %s of tenant %s cannot be opened (SECRET_KEY changed?): "
            "retired, and a new key made",
            row.kid,
            tenant.slug,
        )
    row = rotate(tenant)
    return row, private_key(row)


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

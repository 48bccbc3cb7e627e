"""Secrets at rest, one scheme (webapp/sealing.py): webhook secrets sealed;
authenticator secrets and OIDC signing keys re-sealed from their older formats

A data migration: it runs in the app (flask db upgrade), so it sees
SECRET_KEY and SECRET_KEY_FALLBACKS. A value no key opens is left as it is
(and logged): the app treats it as before (an authenticator set up again, a
signing key rotated). Values written later in an older format (an instance
not yet upgraded during a rolling deploy) are read and re-sealed on use.

Revision ID: 0014
Revises: 0013
"""

import base64
import hashlib
import hmac
import logging
import os

import sqlalchemy as sa
from alembic import op
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from webapp import sealing

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# (table, purpose, the column holding the row's context, how it reads)
TABLES = (
    ("webhook_endpoints", "webhook", "id", str),
    ("totp_factors", "totp", "account_id", lambda account_id: f"account:{account_id}"),
    ("oidc_keys", "oidc-signing-key", "kid", str),
)
COLUMN = {"webhook_endpoints": "secret", "totp_factors": "secret", "oidc_keys": "private_key"}


def _table(name, context_column):
    columns = {"id", COLUMN[name], context_column}
    return sa.table(name, *(sa.column(column) for column in sorted(columns)))


def upgrade():
    connection = op.get_bind()
    for name, purpose, context_column, context in TABLES:
        table = _table(name, context_column)
        value = table.c[COLUMN[name]]
        rows = connection.execute(sa.select(table.c.id, table.c[context_column], value)).all()
        for row_id, row_context, stored in rows:
            try:
                opened = sealing.unseal(purpose, stored, context(row_context))
            except sealing.Unreadable:
                log.warning("%s %s: its value opens under no key; left as it is", name, row_id)
                continue
            if opened.resealed:
                connection.execute(
                    sa.update(table).where(table.c.id == row_id).values({value: opened.resealed})
                )


def _secret() -> bytes:
    from flask import current_app

    key = current_app.config["SECRET_KEY"]
    return key.encode() if isinstance(key, str) else key


def _old_format(purpose: str, value: bytes, context: str) -> str:
    """What 0009's code wrote (and reads)."""
    if purpose == "webhook":
        return value.decode()
    if purpose == "totp":
        key = hmac.new(_secret(), b"savitarna totp secret v1", hashlib.sha256).digest()
        return Fernet(base64.urlsafe_b64encode(key)).encrypt(value).decode()
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"savitarna oidc signing keys"
    ).derive(_secret())
    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, value, context.encode())).decode()


def downgrade():
    connection = op.get_bind()
    for name, purpose, context_column, context in TABLES:
        table = _table(name, context_column)
        value = table.c[COLUMN[name]]
        rows = connection.execute(sa.select(table.c.id, table.c[context_column], value)).all()
        for row_id, row_context, stored in rows:
            if not sealing.is_current(stored):
                continue
            try:
                opened = sealing.unseal(purpose, stored, context(row_context))
            except sealing.Unreadable:
                log.warning("%s %s: its value opens under no key; left as it is", name, row_id)
                continue
            old = _old_format(purpose, opened.value, str(row_context))
            connection.execute(sa.update(table).where(table.c.id == row_id).values({value: old}))

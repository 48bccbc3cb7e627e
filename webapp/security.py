"""Password hashing (argon2id), emailed single-use tokens, and random ids."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select, update

from .extensions import db
from .models import Account, Token, utcnow


def random_id(nbytes: int) -> str:
    """secrets.token_urlsafe(nbytes), never starting with "-": an id or a secret
    shown to an operator is pasted after a command's name or option (`flask oidc
    ...`, `curl -u`, `--savitarna-qa-token`), where a leading "-" reads as an
    option. One in 64 draws is made again; every other character stays random."""
    while True:
        token = secrets.token_urlsafe(nbytes)
        if not token.startswith("-"):
            return token


def hasher() -> PasswordHasher:
    app = current_app._get_current_object()
    ph = app.extensions.get("savitarna.hasher")
    if ph is None:
        ph = PasswordHasher(
            time_cost=app.config["ARGON2_TIME_COST"],
            memory_cost=app.config["ARGON2_MEMORY_COST"],
            parallelism=app.config["ARGON2_PARALLELISM"],
        )
        app.extensions["savitarna.hasher"] = ph
    return ph


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(account: Account | None, password: str) -> bool:
    """Check a password; without an account, spend the same time on a dummy hash so
    the answer takes as long whether or not the account exists."""
    ph = hasher()
    stored = account.password_hash if account is not None else None
    if stored is None:
        ph.hash(password)
        return False
    try:
        ph.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    if ph.check_needs_rehash(stored):
        account.password_hash = ph.hash(password)
    return True


# The links a new password (or securing the account) ends: whoever had the old
# password may have asked for them. `email_change` confirms a new address.
PURPOSES = ("confirm", "activate", "reset", "email_change")
# Links that outlive a new password, since they are the owner's way back:
# "this was not me" (`secure`, which may carry the address to restore) and
# the cancellation of an account's deletion.
OWNER_PURPOSES = ("secure", "delete_cancel")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(
    account: Account,
    purpose: str,
    hours: int,
    registration: dict | None = None,
    submission: str | None = None,
) -> str:
    """A new link secret for `account`; only its digest is stored. A new reset
    link ends the account's older ones: only the newest email's link resets, so
    a reset link left in an old email (or a mailbox read by someone else) dies
    as soon as the owner asks again. The same for a new address to confirm:
    only the newest asked for can become the login name."""
    assert purpose in PURPOSES + OWNER_PURPOSES
    if purpose in ("reset", "email_change"):
        revoke_tokens(account, (purpose,))
    secret = secrets.token_urlsafe(32)
    db.session.add(
        Token(
            tenant_id=account.tenant_id,
            account_id=account.id,
            purpose=purpose,
            digest=_digest(secret),
            expires_at=utcnow() + timedelta(hours=hours),
            registration=registration,
            submission=submission,
        )
    )
    return secret


def find_token(tenant_id: int, purposes: tuple[str, ...], secret: str) -> Token | None:
    """The token of this tenant with this secret, used or not, or None."""
    if not secret or len(secret) > 100:
        return None
    return db.session.scalar(
        select(Token).where(
            Token.tenant_id == tenant_id,
            Token.purpose.in_(purposes),
            Token.digest == _digest(secret),
        )
    )


def token_usable(token: Token | None) -> bool:
    return token is not None and token.used_at is None and token.expires_at > utcnow()


def consume_token(token: Token) -> bool:
    """Mark the token used. One conditional UPDATE, so of two concurrent clicks on
    the same link exactly one wins, on every database. The caller reads what the
    token carries (`registration`) before: a used link keeps none of it."""
    result = db.session.execute(
        update(Token)
        .where(Token.id == token.id, Token.used_at.is_(None), Token.expires_at > utcnow())
        .values(used_at=utcnow(), registration=None)
    )
    return result.rowcount == 1


def revoke_tokens(account: Account, purposes: tuple[str, ...] = PURPOSES) -> None:
    """Kill every open link of the account (a new password ends them all), and
    drop the registrations the links carried."""
    db.session.execute(
        update(Token)
        .where(
            Token.account_id == account.id,
            Token.purpose.in_(purposes),
            Token.used_at.is_(None),
        )
        .values(used_at=utcnow(), registration=None)
    )

"""What a client learns about a customer: `sub` and the claims of the scopes
it was granted, from the account (and its profile's fields for `utility`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Account
from ..security import random_id
from .models import Subject

# Scope -> the claims it releases (OpenID Connect Core 5.4, and ours).
SCOPE_CLAIMS = {
    "profile": ("name", "given_name", "family_name", "locale"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "utility": (
        "profile_kind",
        "company_code",
        "contract_number",
        "invoices_by_email",
        "sms_consent",
    ),
}
# What the consent page says each scope gives away.
SCOPE_TEXTS = {
    "openid": _l("Your identifier at this utility (not your email)"),
    "profile": _l("Your name and language"),
    "email": _l("Your email address"),
    "phone": _l("Your phone number"),
    "offline_access": _l("Access while you are not logged in"),
    "utility": _l("Your customer details: company code, contract number, invoice and SMS choices"),
}


def subject(account: Account) -> str:
    """The account's `sub`: made once (committed), random, kept."""
    found = db.session.scalar(select(Subject.subject).where(Subject.account_id == account.id))
    if found is not None:
        return found
    row = Subject(tenant_id=account.tenant_id, account_id=account.id, subject=random_id(24))
    db.session.add(row)
    try:
        # Committed at once: the ID token is signed after the token's commit.
        db.session.commit()
    except IntegrityError:  # made by a parallel request
        db.session.rollback()
        return db.session.scalar(select(Subject.subject).where(Subject.account_id == account.id))
    return row.subject


def user_claims(account: Account, scope: str, profile_kind: str) -> dict:
    """`sub` and the claims of `scope`; empty values are left out."""
    scopes = set(scope.split())
    values = {
        "name": account.full_name,
        "given_name": account.first_name,
        "family_name": account.last_name,
        "locale": account.language,
        "email": account.email,
        "email_verified": account.email_confirmed_at is not None,
        "phone_number": account.phone,
        # Typed at registration, never confirmed by a code.
        "phone_number_verified": False if account.phone else None,
        "profile_kind": profile_kind,
        "company_code": account.company_code,
        "contract_number": account.contract_number,
        "invoices_by_email": account.invoices_by_email,
        "sms_consent": account.sms_consent,
    }
    claims = {"sub": subject(account)}
    for name, released in SCOPE_CLAIMS.items():
        if name in scopes:
            claims.update({k: values[k] for k in released if values[k] not in (None, "")})
    return claims

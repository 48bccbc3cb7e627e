"""What staff read about a utility's customers: the search and the customer
page. Every query names the tenant: a customer of another utility is not
found (the view answers 404), whatever id or text is typed. Nothing secret
is read out: no password hash, link, recovery code or factor secret."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, event, func, or_, select, true
from sqlalchemy.engine import Engine

from ..extensions import db
from ..models import Account, AuditEvent, LoginSession, Passkey, Tenant, TotpFactor
from ..oidc.models import Client, Consent

PER_PAGE = 20
AUDIT_ROWS = 50
SESSION_ROWS = 20
# Words of a search beyond these are ignored (each one is a condition).
MAX_WORDS = 6


@dataclass(frozen=True)
class Page:
    items: list[Account]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


@event.listens_for(Engine, "connect")
def _sqlite_unicode_lower(dbapi_connection, connection_record):
    """SQLite's lower() folds ASCII only ("Žemaitis" stays as it is): the
    search lowers both sides with Python's str.lower there instead."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.create_function("unicode_lower", 1, _lower, deterministic=True)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _folded(column):
    if db.session.get_bind().dialect.name == "sqlite":
        return func.unicode_lower(column)
    return func.lower(column)


def _word_matches(word: str):
    """One typed word, found in any searchable column (case-insensitive in any
    alphabet; the LIKE wildcards typed are taken literally)."""
    columns = (
        Account.email,
        Account.first_name,
        Account.last_name,
        Account.company_code,
        Account.contract_number,
        Account.phone,
    )
    return or_(*(_folded(column).contains(word.lower(), autoescape=True) for column in columns))


def _number_matches(text: str):
    """The whole search as one number typed with spaces or dashes: a phone in
    any usual spelling ("8 612 34567", "+370 612 34567"), a company code or a
    contract number. None when it is not a number."""
    compact = re.sub(r"[\s()+-]", "", text)
    if not (compact.isdigit() and len(compact) >= 5):
        return None
    national = compact[3:] if compact.startswith("370") else compact.removeprefix("8")
    return or_(
        Account.phone.contains(national, autoescape=True),
        Account.company_code.contains(compact, autoescape=True),
        Account.contract_number.contains(compact, autoescape=True),
    )


def search_customers(tenant: Tenant, text: str, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """The tenant's customers matching every word of `text` (all of them when
    it is empty), newest first, one page of them."""
    # Control and format characters (NUL, bidi marks) are no part of any
    # value searched, and PostgreSQL refuses a NUL outright.
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text or "")
    words = text.split()[:MAX_WORDS]
    matches = and_(true(), *(_word_matches(w) for w in words))
    number = _number_matches(text)
    if number is not None:
        matches = or_(matches, number)
    condition = and_(Account.tenant_id == tenant.id, matches)
    total = db.session.scalar(select(func.count(Account.id)).where(condition)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    items = list(
        db.session.scalars(
            select(Account)
            .where(condition)
            .order_by(Account.created_at.desc(), Account.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return Page(items, total, page, per_page)


def customer_of(tenant: Tenant, account_id: int) -> Account | None:
    """The tenant's customer with this id, or None (another tenant's too)."""
    return db.session.scalar(
        select(Account).where(Account.id == account_id, Account.tenant_id == tenant.id)
    )


def state_of(account: Account) -> str:
    """ "deleted" (purged: webapp/privacy/deletion.py), "deleting" (asked for,
    within the grace period), "blocked" (by staff), "unconfirmed" (the emailed
    link not used yet) or "active"."""
    if account.deleted_at is not None:
        return "deleted"
    if account.deletion_due_at is not None:
        return "deleting"
    if account.blocked_at is not None:
        return "blocked"
    if account.email_confirmed_at is None:
        return "unconfirmed"
    return "active"


@dataclass(frozen=True)
class AppConsent:
    app: str
    scopes: list[str]
    granted_at: datetime


@dataclass(frozen=True)
class CustomerRecord:
    """The customer page: what the account says, and what happened to it."""

    account: Account
    state: str
    passkeys: list[str]
    authenticator_since: datetime | None
    app_consents: list[AppConsent]
    sessions: list[LoginSession]
    audit: list[AuditEvent]


def customer_record(tenant: Tenant, account: Account) -> CustomerRecord:
    """Everything the customer page shows of `account` (of `tenant`)."""
    mine = {"tenant_id": tenant.id, "account_id": account.id}

    def owned(model):
        return and_(*(getattr(model, key) == value for key, value in mine.items()))

    passkeys = list(
        db.session.scalars(select(Passkey.name).where(owned(Passkey)).order_by(Passkey.id))
    )
    authenticator_since = db.session.scalar(
        select(TotpFactor.confirmed_at).where(
            owned(TotpFactor), TotpFactor.confirmed_at.is_not(None)
        )
    )
    consents = [
        AppConsent(name, scopes, granted_at)
        for name, scopes, granted_at in db.session.execute(
            select(Client.name, Consent.scopes, Consent.granted_at)
            .join(Client, Client.id == Consent.client_pk)
            .where(owned(Consent), Client.tenant_id == tenant.id)
            .order_by(Consent.granted_at.desc())
        )
    ]
    sessions = list(
        db.session.scalars(
            select(LoginSession)
            .where(owned(LoginSession))
            .order_by(LoginSession.authenticated_at.desc())
            .limit(SESSION_ROWS)
        )
    )
    audit = list(
        db.session.scalars(
            select(AuditEvent)
            .where(owned(AuditEvent))
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(AUDIT_ROWS)
        )
    )
    return CustomerRecord(
        account=account,
        state=state_of(account),
        passkeys=passkeys,
        authenticator_since=authenticator_since,
        app_consents=consents,
        sessions=sessions,
        audit=audit,
    )

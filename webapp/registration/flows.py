"""Registration's business rules: create the account, its link and its email in
one transaction, and answer the same whether or not the email is known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import events, mail
from ..extensions import db
from ..forms import legacy_email, normalize_email
from ..jobs import durable
from ..links import email_link
from ..models import Account, Contract, Tenant, Token, utcnow
from ..security import issue_token
from ..tenants import TenantSettings

# The same form post (see Registration.submission) arriving again this soon,
# while its address is still unconfirmed, is one registration arriving twice (a
# double click, a reloaded POST): its confirmation link is on its way, so no
# second email.
REPEAT_SECONDS = 60
# The links that confirm a registration (and may carry one, see models.Token).
REGISTRATION_LINKS = ("confirm", "activate")


@dataclass
class Registration:
    """What the person typed, already checked by the form; the password only as
    its hash (made before the answer, for every registration alike)."""

    first_name: str
    last_name: str
    email: str
    language: str
    password_hash: str | None = None
    company_code: str | None = None
    is_customer: bool | None = None
    contract_number: str | None = None
    phone: str | None = None
    invoices_by_email: bool = False
    sms_consent: bool = False
    terms_accepted: bool = False
    # A digest of the form post (its CSRF token and fields, without the password):
    # equal for a double click of one form, different for anyone else's.
    submission: str | None = None


def contract_is_active(tenant_slug: str, number: str, company_code: str) -> bool:
    """Whether the tenant's registry holds this active contract of this company."""
    return (
        db.session.scalar(
            select(Contract.id)
            .join(Tenant, Tenant.id == Contract.tenant_id)
            .where(
                Tenant.slug == tenant_slug,
                Contract.contract_number == number,
                Contract.company_code == company_code,
                Contract.status == "active",
            )
        )
        is not None
    )


def find_account(tenant: Tenant, email: str) -> Account | None:
    """The tenant's account with this address, in whichever spelling it is typed
    (upper case, a Unicode or a punycode domain): see `normalize_email`."""
    # Login, forgot and resend take any text; PostgreSQL refuses a NUL in a query
    # parameter, and no stored (validated) address contains one.
    if "\x00" in email:
        return None
    canonical = normalize_email(email)
    if canonical is None:
        return None
    # Accounts of the first release were stored with a Unicode domain; the
    # canonical spelling wins should both exist.
    spellings = {canonical, legacy_email(email) or canonical}
    found = db.session.scalars(
        select(Account).where(Account.tenant_id == tenant.id, Account.email.in_(spellings))
    ).all()
    return next((a for a in found if a.email == canonical), found[0] if found else None)


def confirmed_since(tenant: Tenant, email: str, since: datetime) -> bool:
    """Whether the tenant's account with this email was confirmed after `since`
    (the moment of a registration)."""
    account = find_account(tenant, email)
    confirmed = account.email_confirmed_at if account is not None else None
    return confirmed is not None and confirmed > since


def _decode_registration(args: list) -> list:
    data, *rest = args
    return [Registration(**data), *rest]


@durable("register", decode=_decode_registration)
def register_customer(
    tenant: Tenant, settings: TenantSettings, data: Registration, address: str | None = None
) -> None:
    """Create the account and send its link, or tell the owner of an existing
    account by email. The view runs this after its answer, the same 'check your
    email' page either way, so neither the content nor the time of the answer
    says whether the email has an account. A durable job: if it runs again
    after its commit was lost, it finds the account and does nothing twice.

    An address that is registered but not yet confirmed belongs to nobody yet:
    whoever registered it first may not own the mailbox (someone may register
    another person's address, with a password of their own, hoping the owner or
    a mail scanner opens the link). So a new registration of it gets a link of
    its own that carries its data; using that link makes the account the new
    registration's and ends every other link (auth/flows.py _confirm_registration)."""
    existing = find_account(tenant, data.email)
    if existing is None:
        _create_account(tenant, settings, data, address)
        return
    if existing.email_confirmed_at is not None:
        _send_already_registered(tenant, settings, existing, data.language)
        events.emit(tenant.id, "registration_repeated", account=existing, address=address)
    elif _repeated(existing, data.submission):
        # The same form post arriving twice (a double click): its link is on
        # its way, so no second email.
        events.emit(tenant.id, "registration_repeated", account=existing, address=address)
    else:
        send_confirmation(
            tenant, settings, existing, account_fields(settings, data), data.submission
        )
        # Audited only: nothing is registered until this registration's link
        # is used (its confirmation then tells the utility).
        events.emit(tenant.id, "registered", account=existing, address=address)
    db.session.commit()
    mail.deliver_queued()


def _create_account(tenant, settings, data: Registration, address: str | None) -> None:
    now = utcnow()
    account = Account(tenant_id=tenant.id, email=data.email, **account_fields(settings, data))
    _stamp(account, now)
    db.session.add(account)
    try:
        db.session.flush()
    except IntegrityError:
        # A double click, or two tabs: the other request created the account.
        db.session.rollback()
        return
    send_confirmation(tenant, settings, account, submission=data.submission)
    events.emit(
        tenant.id,
        "account.registered",
        account=account,
        data=registered_data(settings, account),
        address=address,
    )
    db.session.commit()
    mail.deliver_queued()


def registered_data(settings: TenantSettings, account: Account) -> dict:
    """What account.registered tells the utility besides the account."""
    data = {"profile": settings.profile, "language": account.language}
    if account.is_business:
        data.update(company_code=account.company_code, contract_number=account.contract_number)
    else:
        data.update(invoices_by_email=account.invoices_by_email, sms_consent=account.sms_consent)
    return data


def account_fields(settings: TenantSettings, data: Registration) -> dict:
    """The account's columns as this registration sets them: every column a
    registration of either profile writes, so taking over an account leaves
    nothing of the earlier registration (not its phone, not its consents)."""
    business = settings.is_business
    return {
        "first_name": data.first_name,
        "last_name": data.last_name,
        "language": data.language,
        "password_hash": data.password_hash,
        "company_code": data.company_code if business else None,
        "is_customer": data.is_customer if business else None,
        "contract_number": data.contract_number if business and data.is_customer else None,
        "phone": None if business else data.phone,
        "invoices_by_email": False if business else data.invoices_by_email,
        "sms_consent": False if business else data.sms_consent,
        "terms_version": None if business else settings.terms_version,
        "terms_language": None if business else data.language,
    }


def _stamp(account: Account, at: datetime) -> None:
    """The times that go with the fields: when the password was set and the
    terms accepted (the moment of the registration)."""
    account.password_changed_at = at if account.password_hash else None
    account.terms_accepted_at = at if account.terms_version else None


def take_over(account: Account, registration: dict | None, registered_at: datetime) -> None:
    """Write the registration a confirmation link carried onto its account (the
    caller has just used the link and won the account's confirmation). The
    first registration's link carries nothing: the account holds its data."""
    if registration is None:
        return
    for name, value in registration.items():
        setattr(account, name, value)
    _stamp(account, registered_at)


def send_confirmation(
    tenant: Tenant,
    settings: TenantSettings,
    account: Account,
    registration: dict | None = None,
    submission: str | None = None,
) -> None:
    """Queue the confirmation link, for the account's own data or for the
    `registration` it carries. A business account has no password yet, so its
    link leads to 'set a new password'; a residential one's confirms the address."""
    details = registration or {
        "first_name": account.first_name,
        "language": account.language,
        "password_hash": account.password_hash,
    }
    purpose = "activate" if details["password_hash"] is None else "confirm"
    secret = issue_token(account, purpose, settings.confirm_hours, registration, submission)
    endpoint = "auth.activate" if purpose == "activate" else "auth.confirm"
    mail.queue(
        tenant,
        settings,
        purpose,
        account.email,
        details["language"],
        account=account,
        name=details["first_name"],
        link=email_link(settings, endpoint, token=secret),
        hours=settings.confirm_hours,
    )


def newest_registration(account: Account) -> dict | None:
    """What the newest open confirmation link of the account carries (None: the
    account's own data), for 'send the confirmation email again'."""
    token = db.session.scalar(
        select(Token)
        .where(
            Token.account_id == account.id,
            Token.purpose.in_(REGISTRATION_LINKS),
            Token.used_at.is_(None),
        )
        .order_by(Token.id.desc())
        .limit(1)
    )
    return token.registration if token is not None else None


def _repeated(account: Account, submission: str | None) -> bool:
    """Whether an open link of the account was made moments ago by this very
    form post (see Registration.submission)."""
    if submission is None:
        return False
    return (
        db.session.scalar(
            select(Token.id).where(
                Token.account_id == account.id,
                Token.purpose.in_(REGISTRATION_LINKS),
                Token.used_at.is_(None),
                Token.submission == submission,
                Token.created_at > utcnow() - timedelta(seconds=REPEAT_SECONDS),
            )
        )
        is not None
    )


def _send_already_registered(tenant, settings, account: Account, language: str) -> None:
    mail.queue(
        tenant,
        settings,
        "already_registered",
        account.email,
        language,
        account=account,
        login_link=email_link(settings, "auth.login"),
        reset_link=email_link(settings, "auth.forgot"),
    )

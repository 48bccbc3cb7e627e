"""Registration's business rules: create the account, its link and its email in
one transaction, and answer the same whether or not the email is known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import events, mail
from ..extensions import db
from ..jobs import durable
from ..models import Account, Contract, Tenant, utcnow
from ..security import issue_token
from ..tenants import TenantSettings

# A registration repeated this soon after the first, while its address is still
# unconfirmed, is the same one arriving twice (a double click, a second tab, a
# reloaded POST): the confirmation link is on its way, so no second email.
REPEAT_SECONDS = 60


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
    # Login, forgot and resend take any text; PostgreSQL refuses a NUL in a query
    # parameter, and no stored (validated) address contains one.
    if "\x00" in email:
        return None
    return db.session.scalar(
        select(Account).where(Account.tenant_id == tenant.id, Account.email == email.lower())
    )


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
    after its commit was lost, it finds the account and does nothing twice."""
    existing = find_account(tenant, data.email)
    if existing is not None:
        # A repeat within moments is the first registration arriving twice (a
        # double click, a second tab): its link is on its way, so no second email.
        if not _just_registered(existing):
            _send_already_registered(tenant, settings, existing, data.language)
        events.emit(tenant.id, "registration_repeated", account=existing, address=address)
        db.session.commit()
        mail.deliver_queued()
        return

    account = Account(
        tenant_id=tenant.id,
        email=data.email,
        first_name=data.first_name,
        last_name=data.last_name,
        language=data.language,
        password_hash=data.password_hash,
        password_changed_at=utcnow() if data.password_hash else None,
    )
    if settings.is_business:
        account.company_code = data.company_code
        account.is_customer = data.is_customer
        account.contract_number = data.contract_number if data.is_customer else None
    else:
        account.phone = data.phone
        account.invoices_by_email = data.invoices_by_email
        account.sms_consent = data.sms_consent
        account.terms_version = settings.terms_version
        account.terms_accepted_at = utcnow()
        account.terms_language = data.language
    db.session.add(account)
    try:
        db.session.flush()
    except IntegrityError:
        # A double click, or two tabs: the other request created the account.
        db.session.rollback()
        return
    send_confirmation(tenant, settings, account)
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


def send_confirmation(tenant: Tenant, settings: TenantSettings, account: Account) -> None:
    """Queue the confirmation link. A business account has no password yet, so its
    link leads to 'set a new password'; a residential one's confirms the address."""
    purpose = "activate" if account.password_hash is None else "confirm"
    secret = issue_token(account, purpose, settings.confirm_hours)
    endpoint = "auth.activate" if purpose == "activate" else "auth.confirm"
    mail.queue(
        tenant,
        settings,
        purpose,
        account.email,
        account.language,
        account=account,
        link=url_for(endpoint, tenant=tenant.slug, token=secret, _external=True),
        hours=settings.confirm_hours,
    )


def _just_registered(account: Account) -> bool:
    return account.email_confirmed_at is None and account.created_at > utcnow() - timedelta(
        seconds=REPEAT_SECONDS
    )


def _send_already_registered(tenant, settings, account: Account, language: str) -> None:
    mail.queue(
        tenant,
        settings,
        "already_registered",
        account.email,
        language,
        account=account,
        login_link=url_for("auth.login", tenant=tenant.slug, _external=True),
        reset_link=url_for("auth.forgot", tenant=tenant.slug, _external=True),
    )

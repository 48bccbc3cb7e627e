"""Registration's business rules: create the account, its link and its email in
one transaction, and answer the same whether or not the email is known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from .. import events, mail
from ..accounts import REGISTRATION_LINKS, create_account, find_account, send_confirmation
from ..extensions import db
from ..jobs import durable
from ..links import email_link
from ..models import Account, Tenant, Token, utcnow
from ..tenants import TenantSettings

# The same form post (see Registration.submission) arriving again this soon,
# while its address is still unconfirmed, is one registration arriving twice (a
# double click, a reloaded POST): its confirmation link is on its way, so no
# second email.
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
    # "embedded" or "direct" (webapp/funnel counts the account's later steps there).
    channel: str = "direct"
    # A digest of the form post (its CSRF token and fields, without the password):
    # equal for a double click of one form, different for anyone else's.
    submission: str | None = None
    # The page the registration started from (an application's login, see
    # webapp/oidc): the emailed link leads there once used.
    next: str | None = None


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
    registration's and ends every other link (accounts.confirm_registration)."""
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
            tenant, settings, existing, account_fields(settings, data), data.submission, data.next
        )
        # Audited only: nothing is registered until this registration's link
        # is used (its confirmation then tells the utility).
        events.emit(tenant.id, "registered", account=existing, address=address)
    db.session.commit()


def _create_account(tenant, settings, data: Registration, address: str | None) -> None:
    account = create_account(tenant, data.email, account_fields(settings, data), utcnow())
    if account is None:
        return
    send_confirmation(tenant, settings, account, submission=data.submission, next_url=data.next)
    events.emit(
        tenant.id,
        "account.registered",
        account=account,
        data=registered_data(settings, account),
        address=address,
    )
    db.session.commit()


def registered_data(settings: TenantSettings, account: Account) -> dict:
    """What account.registered tells the utility besides the account."""
    data = {"profile": settings.profile, "language": account.language}
    data.update(settings.kind.event_data(account))
    return data


def account_fields(settings: TenantSettings, data: Registration) -> dict:
    """The account's columns as this registration sets them: its profile says."""
    return {**settings.kind.account_fields(settings, data), "funnel_channel": data.channel}


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

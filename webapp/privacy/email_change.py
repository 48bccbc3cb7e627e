"""A new email address (the login name): a link to the new address confirms
it; the old address is told, with a link that undoes the change for 72 hours
(accounts.secure_account). The answer is the same whether or not the new
address is another account's: that address gets a notice instead of a link,
so nobody learns through this page who has an account."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from .. import events, mail
from ..accounts import SECURE_LINK_HOURS, find_account, secure_link
from ..extensions import db
from ..jobs import durable
from ..links import email_link
from ..models import Account, Tenant, utcnow
from ..security import consume_token, find_token, issue_token, token_usable
from ..tenants import TenantSettings

EMAIL_CHANGE_HOURS = 24


@durable("request_email_change")
def request_email_change(
    tenant: Tenant,
    settings: TenantSettings,
    account_id: int,
    new_email: str,
    address: str | None = None,
) -> None:
    """Mail the new address a confirmation link, or, when it is another
    account's login name, a notice that someone tried to use it. Runs after
    the answer (like 'forgot password'), so both take the same time to answer."""
    account = db.session.get(Account, account_id)
    if account is None or account.tenant_id != tenant.id or account.deleted_at is not None:
        return
    holder = find_account(tenant, new_email)
    if holder is not None and holder.id != account.id:
        mail.queue(tenant, settings, "email_taken", holder.email, holder.language, account=holder)
    else:
        secret = issue_token(account, "email_change", EMAIL_CHANGE_HOURS, {"email": new_email})
        mail.queue(
            tenant,
            settings,
            "email_change",
            new_email,
            account.language,
            account=account,
            link=email_link(settings, "privacy.confirm_email_change", token=secret),
            hours=EMAIL_CHANGE_HOURS,
            new_email=new_email,
        )
    events.emit(
        tenant.id, "email_change_requested", account=account, address=address, email=new_email
    )
    db.session.commit()


def email_change_page(tenant: Tenant, secret: str) -> str | None:
    """The new address a still usable link would make the login name, or None
    (opening the link changes nothing: mail scanners open links)."""
    token = find_token(tenant.id, ("email_change",), secret)
    if not token_usable(token) or token.account.deleted_at is not None:
        return None
    return (token.registration or {}).get("email")


def confirm_email_change(
    tenant: Tenant, settings: TenantSettings, secret: str, address: str | None = None
) -> Account | None:
    """Use the link (single use): the new address becomes the login name and
    the old one is told, with its undo link. None when the link does not work
    or the address has meanwhile become another account's."""
    token = find_token(tenant.id, ("email_change",), secret)
    if token is None:
        return None
    new_email = (token.registration or {}).get("email")
    account = token.account
    if not token_usable(token) or not new_email or account.deleted_at is not None:
        return None
    holder = find_account(tenant, new_email)
    if (holder is not None and holder.id != account.id) or not consume_token(token):
        db.session.rollback()
        return None
    old_email, account.email = account.email, new_email
    account.email_confirmed_at = utcnow()
    mail.queue(
        tenant,
        settings,
        "email_changed",
        old_email,
        account.language,
        account=account,
        new_email=new_email,
        secure_link=secure_link(settings, account, restore_email=old_email),
        hours=SECURE_LINK_HOURS,
    )
    events.emit(
        tenant.id,
        "account.email_changed",
        account=account,
        data={"previous_email": old_email},
        address=address,
    )
    try:
        db.session.commit()
    except IntegrityError:
        # Registered a moment ago by someone else (the unique constraint).
        db.session.rollback()
        return None
    return account

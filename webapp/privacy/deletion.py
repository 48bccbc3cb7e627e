"""Deleting an account. The person confirms with their password or a passkey;
the account is purged after the tenant's `deletion_grace_days`, during which
an emailed link (or the banner shown after logging in) cancels it. The purge
is a durable job run by the worker once due (`flask worker`): it removes the
personal data (profile, password, second factors, links, logins, emails, the
OpenID Connect consents, codes, tokens and subject) and keeps only what must
be kept, anonymised: the account row as a tombstone (so audit rows keep their
reference) and the audit rows without their network and email digest. It may
run any number of times: a purged, cancelled or not yet due account is left
as it is."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update

from .. import events, mail
from ..audit import email_digest
from ..auth.stepup import mark_reauthenticated
from ..extensions import db
from ..jobs import durable, schedule
from ..links import email_link
from ..models import (
    Account,
    AuditEvent,
    LoginSession,
    OutboxMessage,
    Passkey,
    RecoveryCode,
    Tenant,
    Token,
    TotpFactor,
    utcnow,
)
from ..oidc.models import AuthorizationCode, Consent, OAuthToken, Subject
from ..security import (
    consume_token,
    find_token,
    issue_token,
    revoke_tokens,
    token_usable,
    verify_password,
)
from ..tenants import TenantSettings


class DeletePasswordWrong(Exception):
    pass


def tombstone(account: Account) -> str:
    """What a purged account's email becomes: unique, and nobody's address."""
    return f"deleted-{account.id}@deleted.invalid"


def check_password(
    tenant: Tenant, account: Account, password: str, address: str | None = None
) -> None:
    """The deletion's confirmation with the password; a wrong one is a failed
    login for the audit log and the limits, as on the login page."""
    if not verify_password(account, password):
        events.emit_now(tenant.id, "login.failed", account=account, address=address)
        raise DeletePasswordWrong


def request_deletion(
    tenant: Tenant,
    settings: TenantSettings,
    account: Account,
    login: LoginSession | None = None,
    address: str | None = None,
) -> datetime:
    """Ask for the account's deletion, once the person has confirmed it (their
    password: check_password, or a passkey); return when the purge is due. The
    confirmation counts as a fresh proof of the login (step-up). The owner is
    mailed a link that cancels it until then."""
    mark_reauthenticated(login)
    if account.deletion_due_at is not None:
        db.session.commit()
        return account.deletion_due_at
    due = utcnow() + timedelta(days=settings.deletion_grace_days)
    account.deletion_due_at = due
    secret = issue_token(account, "delete_cancel", settings.deletion_grace_days * 24)
    mail.queue(
        tenant,
        settings,
        "deletion_requested",
        account.email,
        account.language,
        account=account,
        due=due,
        link=email_link(settings, "privacy.cancel_deletion_link", token=secret),
    )
    events.emit(
        tenant.id,
        "account.deletion_requested",
        account=account,
        data={"purge_after": due.isoformat(timespec="seconds")},
        address=address,
    )
    schedule(tenant.id, purge_account, account.id, run_after=due)
    db.session.commit()
    return due


def cancel_deletion(tenant: Tenant, account: Account, address: str | None = None) -> bool:
    """The account stays: False when no deletion was under way (or it is done)."""
    won = db.session.execute(
        update(Account)
        .where(
            Account.id == account.id,
            Account.deletion_due_at.is_not(None),
            Account.deleted_at.is_(None),
        )
        .values(deletion_due_at=None)
    )
    if won.rowcount != 1:
        db.session.rollback()
        return False
    revoke_tokens(account, ("delete_cancel",))
    events.emit(tenant.id, "account.deletion_cancelled", account=account, address=address)
    db.session.commit()
    db.session.refresh(account)
    return True


def cancel_link_account(tenant: Tenant, secret: str) -> Account | None:
    """The account a still usable cancel link would keep, or None."""
    token = find_token(tenant.id, ("delete_cancel",), secret)
    if not token_usable(token) or token.account.deletion_due_at is None:
        return None
    return token.account


def cancel_deletion_by_link(
    tenant: Tenant, secret: str, address: str | None = None
) -> Account | None:
    """The emailed link's button (single use)."""
    token = find_token(tenant.id, ("delete_cancel",), secret)
    if not token_usable(token) or not consume_token(token):
        db.session.rollback()
        return None
    account = token.account
    return account if cancel_deletion(tenant, account, address) else None


@durable("purge_account")
def purge_account(tenant: Tenant, settings: TenantSettings, account_id: int) -> None:
    """Once the grace period is over: remove the account's personal data."""
    account = db.session.scalar(
        select(Account).where(Account.id == account_id, Account.tenant_id == tenant.id)
    )
    now = utcnow()
    if (
        account is None
        or account.deleted_at is not None
        or account.deletion_due_at is None
        or account.deletion_due_at > now
    ):
        return  # purged already, cancelled, or asked again with a later date
    email = account.email
    digest = email_digest(email)
    db.session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.tenant_id == tenant.id, OutboxMessage.recipient == email
        )
    )
    # Links, logins (every cookie of the account stops working), second
    # factors and what applications were given: deleted, not kept.
    for model in (
        Token,
        OAuthToken,
        AuthorizationCode,
        Consent,
        Subject,
        LoginSession,
        Passkey,
        TotpFactor,
        RecoveryCode,
    ):
        db.session.execute(
            delete(model).where(model.tenant_id == tenant.id, model.account_id == account.id)
        )
    # The audit rows stay (a security reviewer may still need them), without
    # where from and without the address's digest: failed logins made with
    # the address before it had an account included.
    db.session.execute(
        update(AuditEvent)
        .where(
            AuditEvent.tenant_id == tenant.id,
            or_(AuditEvent.account_id == account.id, AuditEvent.email_digest == digest),
        )
        .values(network=None, email_digest=None)
    )
    account.email = tombstone(account)
    account.first_name = ""
    account.last_name = ""
    for name in ("company_code", "is_customer", "contract_number", "phone", "password_hash"):
        setattr(account, name, None)
    account.invoices_by_email = False
    account.sms_consent = False
    account.terms_version = account.terms_accepted_at = account.terms_language = None
    account.password_changed_at = account.email_confirmed_at = None
    account.webauthn_handle = None
    account.session_epoch += 1
    account.deleted_at = now
    events.emit(tenant.id, "account.deleted", account=account, actor="system")
    db.session.commit()

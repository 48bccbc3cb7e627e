"""Authentication and emailed links. Answers never reveal whether an email has
an account: the views show the same page for known and unknown addresses."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import select

from .. import events
from ..accounts import (
    confirm_registration,
    end_sessions,
    find_account,
    newest_registration,
    send_confirmation,
    send_reset,
)
from ..extensions import db
from ..jobs import durable
from ..models import Account, LoginSession, Tenant, utcnow
from ..security import (
    consume_token,
    find_token,
    hash_password,
    revoke_tokens,
    token_usable,
    verify_password,
)
from ..tenants import TenantSettings
from .stepup import mark_reauthenticated

# How stale a login's last-seen time may be before a request moves it (one
# write in five minutes per browser, not one a request).
LOGIN_SEEN_EVERY = 300


class LoginFailed(Exception):
    """Wrong email or password: deliberately one error for both."""


class EmailUnconfirmed(Exception):
    """Right password, but the address was never confirmed."""


def authenticate(
    tenant: Tenant, email: str, password: str, language: str, address: str | None = None
) -> Account:
    """The account behind these credentials. The language the person logs in
    with becomes the language of their emails."""
    account = find_account(tenant, email)
    # A blocked account (by staff) is told what a wrong password is told.
    if not verify_password(account, password) or account.blocked_at is not None:
        events.emit_now(tenant.id, "login.failed", account=account, address=address, email=email)
        raise LoginFailed
    if account.email_confirmed_at is None:
        # Safe to say: only someone who knows the password learns it.
        raise EmailUnconfirmed
    account.language = language
    db.session.commit()  # also keeps a re-hash made by verify_password
    # The login is recorded where it ends (sessions.complete_login): a further
    # step may still be needed.
    return account


def confirm_password(
    tenant: Tenant,
    account: Account,
    login: LoginSession | None,
    password: str,
    address: str | None = None,
) -> bool:
    """ "Confirm it's you": the password of the logged-in person again. A right
    one marks the login as just proved (step-up); a wrong one is a failed
    login for the audit log and the limits, as on the login page."""
    if not verify_password(account, password):
        events.emit_now(tenant.id, "login.failed", account=account, address=address)
        return False
    mark_reauthenticated(login)
    db.session.commit()  # also keeps a re-hash made by verify_password
    return True


class Confirmation(enum.Enum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    ALREADY = "already"
    INVALID = "invalid"


@dataclass
class LinkDetails:
    """Whom a confirmation link's page names before its button is pressed."""

    email: str
    name: str


def confirmation_page(tenant: Tenant, secret: str) -> tuple[Confirmation, LinkDetails | None]:
    """What opening a residential link shows, changing nothing: mail scanners
    and link previews fetch links too, so only the page's button (a POST)
    confirms. PENDING: show the button."""
    token = find_token(tenant.id, ("confirm",), secret)
    if token is None:
        return Confirmation.INVALID, None
    account = token.account
    if account.email_confirmed_at is not None:
        return Confirmation.ALREADY, LinkDetails(account.email, account.first_name)
    if not token_usable(token):
        return Confirmation.INVALID, None
    name = (token.registration or {}).get("first_name", account.first_name)
    return Confirmation.PENDING, LinkDetails(account.email, name)


def confirm_email(
    tenant: Tenant, secret: str, address: str | None = None
) -> tuple[Confirmation, Account | None]:
    """Confirm the address behind a residential link (its page's button). Using
    the link twice, or in two tabs at once, confirms once and then says it is
    already confirmed."""
    token = find_token(tenant.id, ("confirm",), secret)
    if token is None:
        return Confirmation.INVALID, None
    account = token.account
    registration, registered_at = token.registration, token.created_at
    if token_usable(token) and consume_token(token):
        confirm_registration(tenant, account, registration, registered_at, address)
        db.session.commit()
        return Confirmation.CONFIRMED, account
    db.session.rollback()
    if account.email_confirmed_at is not None:
        return Confirmation.ALREADY, account
    return Confirmation.INVALID, None


def link_account(tenant: Tenant, purposes: tuple[str, ...], secret: str) -> Account | None:
    """The account behind a still usable activation or reset link, or None."""
    token = find_token(tenant.id, purposes, secret)
    return token.account if token_usable(token) else None


def set_password_from_link(
    tenant: Tenant,
    purposes: tuple[str, ...],
    secret: str,
    password: str,
    address: str | None = None,
) -> Account | None:
    """Use an activation or reset link: save the password, confirm the address
    (the link proves the mailbox), end older sessions and every other open link."""
    token = find_token(tenant.id, purposes, secret)
    if token is None:
        return None
    registration, registered_at = token.registration, token.created_at
    if not token_usable(token) or not consume_token(token):
        db.session.rollback()
        return None
    account = token.account
    confirm_registration(tenant, account, registration, registered_at, address)
    account.password_hash = hash_password(password)
    account.password_changed_at = utcnow()
    kind = "account.password_set" if "activate" in purposes else "account.password_changed"
    events.emit(tenant.id, kind, account=account, address=address)
    revoke_tokens(account)
    end_sessions(account)
    db.session.commit()
    return account


@durable("request_password_reset")
def request_password_reset(
    tenant: Tenant, settings: TenantSettings, email: str, language: str, address: str | None = None
) -> None:
    """Email a reset link to a known address; do nothing visible otherwise.
    Runs after the answer has been sent (see the view), so it cannot make a
    known address's answer slower than an unknown one's."""
    account = find_account(tenant, email)
    # A blocked account (by staff) is sent nothing, as an unknown address.
    if account is None or account.blocked_at is not None:
        events.emit_now(tenant.id, "password.reset_requested", address=address, email=email)
        return
    send_reset(tenant, settings, account, language)
    events.emit(
        tenant.id, "password.reset_requested", account=account, address=address, email=email
    )
    db.session.commit()


@durable("resend_confirmation")
def resend_confirmation(
    tenant: Tenant, settings: TenantSettings, email: str, address: str | None = None
) -> None:
    """A new confirmation link for an unconfirmed account; nothing otherwise.
    Runs after the answer has been sent, like request_password_reset."""
    account = find_account(tenant, email)
    if account is None or account.email_confirmed_at is not None:
        return
    # The link is for the newest registration of the address (whoever asks
    # again means that one; an older one's links stay as they are).
    send_confirmation(tenant, settings, account, newest_registration(account))
    events.emit(tenant.id, "confirmation_resent", account=account, address=address)
    db.session.commit()


def load_session_account(
    tenant: Tenant, session_id: str, login_id: object
) -> tuple[Account, LoginSession] | None:
    """For Flask-Login's loader: a session is valid only at the tenant that issued it,
    only while the account's session epoch is unchanged, and only while its
    login (`login_id`, the LoginSession's public id) has not ended. A login
    seen again after LOGIN_SEEN_EVERY seconds has its last-seen time moved.
    The account and its login, or None."""
    try:
        tenant_id, account_id, epoch = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    if tenant_id != tenant.id or not isinstance(login_id, str):
        return None
    row = db.session.execute(
        select(Account, LoginSession)
        .join(LoginSession, LoginSession.account_id == Account.id)
        .where(
            Account.id == account_id,
            Account.tenant_id == tenant.id,
            Account.session_epoch == epoch,
            Account.blocked_at.is_(None),
            LoginSession.public_id == login_id,
            LoginSession.tenant_id == tenant.id,
            LoginSession.ended_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    account, login = row
    now = utcnow()
    if (now - login.last_seen_at).total_seconds() > LOGIN_SEEN_EVERY:
        login.last_seen_at = now
        db.session.commit()
    return account, login

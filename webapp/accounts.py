"""The accounts core the features stand on: look an account up, create it,
send and use its confirmation, end its sessions. `registration`, `auth` and
`account` call this module; none of them imports another's flows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from . import events, mail
from .extensions import db
from .forms import legacy_email, normalize_email
from .links import email_link
from .models import Account, LoginSession, Tenant, Token, utcnow
from .security import consume_token, find_token, issue_token, revoke_tokens, token_usable
from .tenants import TenantSettings

# The links that confirm a registration (and may carry one, see models.Token).
REGISTRATION_LINKS = ("confirm", "activate")
# How long a security email's "this was not me" link works (and so how long an
# email change can be undone from the old address).
SECURE_LINK_HOURS = 72


# Look up


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


# Create


def create_account(tenant: Tenant, email: str, fields: dict, at: datetime) -> Account | None:
    """Add the account with these columns (see Profile.account_fields), flushed;
    None when another request has just created it (a double click, two tabs)."""
    account = Account(tenant_id=tenant.id, email=email, **fields)
    stamp(account, at)
    db.session.add(account)
    try:
        db.session.flush()
    except IntegrityError:
        # A double click, or two tabs: the other request created the account.
        db.session.rollback()
        return None
    return account


def stamp(account: Account, at: datetime) -> None:
    """The times that go with the fields: when the password was set and the
    terms accepted (the moment of the registration)."""
    account.password_changed_at = at if account.password_hash else None
    account.terms_accepted_at = at if account.terms_version else None


# Confirm


def send_confirmation(
    tenant: Tenant,
    settings: TenantSettings,
    account: Account,
    registration: dict | None = None,
    submission: str | None = None,
    next_url: str | None = None,
) -> None:
    """Queue the confirmation link, for the account's own data or for the
    `registration` it carries. A business account has no password yet, so its
    link leads to 'set a new password'; a residential one's confirms the address.
    `next_url` (a page of the tenant, checked again when the link is used) is
    where the link leads once used: an application's login the registration
    started from."""
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
        link=email_link(
            settings, endpoint, token=secret, **({"next": next_url} if next_url else {})
        ),
        hours=settings.confirm_hours,
    )


def send_reset(tenant: Tenant, settings: TenantSettings, account: Account, language: str) -> None:
    """Queue a password reset link (the caller emits the event and commits):
    'forgot password', or a staff member at the customer's request."""
    secret = issue_token(account, "reset", settings.reset_hours)
    mail.queue(
        tenant,
        settings,
        "reset",
        account.email,
        account.language or language,
        account=account,
        link=email_link(settings, "auth.reset", token=secret),
        hours=settings.reset_hours,
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


def take_over(account: Account, registration: dict | None, registered_at: datetime) -> None:
    """Write the registration a confirmation link carried onto its account (the
    caller has just used the link and won the account's confirmation). The
    first registration's link carries nothing: the account holds its data."""
    if registration is None:
        return
    for name, value in registration.items():
        setattr(account, name, value)
    stamp(account, registered_at)


def confirm_registration(
    tenant: Tenant,
    account: Account,
    registration: dict | None,
    registered_at: datetime,
    address: str | None,
) -> None:
    """The one door by which an address becomes confirmed, by the link just
    used (which carried `registration`). The first link used wins the
    unconfirmed account (a conditional UPDATE: of two links used at once, one
    does), writes its registration onto it, and ends the other registrations'
    links: whatever an earlier unconfirmed registration of the address typed
    (a password, a phone, consents) is gone with them."""
    won = db.session.execute(
        update(Account)
        .where(Account.id == account.id, Account.email_confirmed_at.is_(None))
        .values(email_confirmed_at=utcnow())
    )
    if won.rowcount != 1:
        return
    take_over(account, registration, registered_at)
    revoke_tokens(account, REGISTRATION_LINKS)
    events.emit(tenant.id, "account.email_confirmed", account=account, address=address)


# Change


# What else a feature ends with an account's sessions (the tokens applications
# hold, webapp/oidc): functions of the account that each app's features register
# at start-up (on_sessions_ended), run in the caller's transaction, so that this
# core module needs to know none of them.
ENDERS_KEY = "savitarna.session_enders"


def on_sessions_ended(app: Flask, end: Callable[[Account], None]) -> None:
    """Register `end(account)` to run whenever end_sessions ends an account's sessions."""
    enders = app.extensions.setdefault(ENDERS_KEY, [])
    if end not in enders:
        enders.append(end)


def end_sessions(account: Account, *, keep: LoginSession | None = None) -> None:
    """Every session of the account stops working, on every instance, and its
    logins end; `keep` (the caller's own login) stays listed, for the caller
    to give its browser a fresh cookie (auth.sessions.renew_session). The
    tokens applications were given end too (on_sessions_ended): a password
    reset or "log out everywhere" that left a thief's refresh token working
    would not be one."""
    for end in current_app.extensions.get(ENDERS_KEY, ()):
        end(account)
    db.session.execute(
        update(Account)
        .where(Account.id == account.id)
        .values(session_epoch=Account.session_epoch + 1)
    )
    ended = update(LoginSession).where(
        LoginSession.account_id == account.id, LoginSession.ended_at.is_(None)
    )
    if keep is not None:
        ended = ended.where(LoginSession.id != keep.id)
    db.session.execute(ended.values(ended_at=utcnow()))
    db.session.refresh(account)


def end_login(login: LoginSession) -> None:
    """One login ends (a logout): the account's other logins go on."""
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.id == login.id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


# Secure: "this was not me"


def secure_link(
    settings: TenantSettings, account: Account, restore_email: str | None = None
) -> str:
    """The "this was not me" link of a security email (auth.secure_account).
    After an email change it carries the address to restore, and goes to that
    old address: the reset link it ends in must not go to the new one."""
    carried = {"email": restore_email} if restore_email else None
    secret = issue_token(account, "secure", SECURE_LINK_HOURS, carried)
    return email_link(settings, "auth.secure_account", token=secret)


@dataclass(frozen=True)
class SecureLink:
    """What a still usable "this was not me" link would do: secure `account`,
    and give it back `restore_email` (its address before an email change)."""

    account: Account
    restore_email: str | None


def secure_link_account(tenant: Tenant, secret: str) -> SecureLink | None:
    """What a still usable "this was not me" link would do, or None."""
    token = find_token(tenant.id, ("secure",), secret)
    if not token_usable(token):
        return None
    restore = (token.registration or {}).get("email")
    return SecureLink(token.account, restore if restore != token.account.email else None)


@dataclass(frozen=True)
class Secured:
    """A used "this was not me" link: `account`, and whether the address it
    was to restore is meanwhile another account's (`address_taken`: then
    every login and link ended, but the address stays and no reset link goes
    to it, since it may be whoever changed it)."""

    account: Account
    address_taken: bool = False


def secure_account(
    tenant: Tenant, settings: TenantSettings, secret: str, address: str | None = None
) -> Secured | None:
    """Use a "this was not me" link (single use): restore the address it carries
    (an email change undone), end every login on every device, end every open
    link, and mail a password reset link to the (restored) address. None when
    the link is used, expired or unknown."""
    token = find_token(tenant.id, ("secure",), secret)
    if token is None:
        return None
    carried = token.registration or {}
    if not token_usable(token) or not consume_token(token):
        db.session.rollback()
        return None
    account = token.account
    restore = carried.get("email")
    taken = False
    if restore and restore != account.email:
        holder = find_account(tenant, restore)
        taken = holder is not None and holder.id != account.id
        if not taken:
            previous, account.email = account.email, restore
            events.emit(
                tenant.id,
                "account.email_changed",
                account=account,
                data={"previous_email": previous, "undone": True},
                address=address,
            )
    revoke_tokens(account)
    end_sessions(account)
    if not taken:
        send_reset(tenant, settings, account, account.language)
    events.emit(tenant.id, "account_secured", account=account, address=address)
    try:
        db.session.commit()
    except IntegrityError:
        # The address was registered by someone else a moment ago.
        db.session.rollback()
        return None
    return Secured(account, address_taken=taken)

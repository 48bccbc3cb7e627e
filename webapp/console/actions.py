"""What a staff member may do to a customer's account from the console's
customer page. Every action takes the tenant, the staff member (the Staff row,
or its audit actor "staff:<id>"), the account and the reason the staff member
gives; it checks that the account is the tenant's, writes its change, its
audit row (actor and reason) and its event in one transaction, and commits.

Staff never see a password, a hash, a link's secret or a recovery code: the
actions send links to the customer and answer nothing secret, and none of them
logs a staff member in as the customer."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import update

from .. import events, mail
from ..accounts import end_sessions as end_account_sessions
from ..accounts import newest_registration, send_confirmation, send_reset
from ..contracts import contract_is_active
from ..extensions import db
from ..factors import flows as factors
from ..messages import message
from ..models import Account, Tenant, utcnow
from ..oidc.models import OAuthToken
from ..policy import name_acceptable, normalise_contract_number, normalise_phone
from ..security import revoke_tokens
from ..tenants import settings_for

REASON_MAX = 500
NAME_MAX = 100
# The account columns a staff member may correct, in the order the email lists them.
CORRECTABLE = ("first_name", "last_name", "phone", "contract_number")


class HasId(Protocol):
    id: int


class ActionRefused(Exception):
    """The action was not done; `key` names the message (webapp/messages.py)."""

    def __init__(self, key: str, **params: Any):
        super().__init__(key)
        self.key = key
        self.params = params

    def text(self) -> str:
        return message(self.key, **self.params)


def actor_of(staff: HasId | str) -> str:
    """The audit actor of a staff member: "staff:<id>"."""
    actor = staff if isinstance(staff, str) else f"staff:{staff.id}"
    if not actor.startswith("staff:") or not events.ACTOR_RE.fullmatch(actor):
        raise ValueError(f"not a staff actor: {actor!r}")
    return actor


def clean_reason(reason: str | None) -> str:
    """The reason as stored: trimmed, required, at most REASON_MAX characters."""
    # Lines are kept; control characters (a NUL, which PostgreSQL refuses) are not.
    text = "".join(c for c in reason or "" if c.isprintable() or c in "\n\t").strip()
    if not text:
        raise ActionRefused("CONSOLE_REASON_REQUIRED")
    if len(text) > REASON_MAX:
        raise ActionRefused("CONSOLE_REASON_TOO_LONG", max=REASON_MAX)
    return text


def _start(tenant: Tenant, staff: HasId | str, account: Account, reason: str | None):
    """The actor and the reason of an action on `account`, which must be the tenant's."""
    if account.tenant_id != tenant.id:
        # A view looks the account up within the tenant; this guards the flows too.
        raise ActionRefused("CONSOLE_NOT_FOUND")
    return actor_of(staff), clean_reason(reason)


def _emit(tenant: Tenant, type: str, account: Account, actor: str, reason: str, **kwargs) -> None:
    events.emit(tenant.id, type, account=account, actor=actor, reason=reason, **kwargs)


# Emails and links


def resend_confirmation(
    tenant: Tenant, staff: HasId | str, account: Account, reason: str | None
) -> None:
    """Send the confirmation (or, for a business account, activation) email
    again, for the newest registration of the address, as "send again" does."""
    actor, reason = _start(tenant, staff, account, reason)
    if account.email_confirmed_at is not None:
        raise ActionRefused("CONSOLE_ALREADY_CONFIRMED")
    send_confirmation(tenant, settings_for(tenant), account, newest_registration(account))
    _emit(tenant, "confirmation_resent", account, actor, reason)
    db.session.commit()


def send_password_reset(
    tenant: Tenant, staff: HasId | str, account: Account, reason: str | None
) -> None:
    """Email the customer a password reset link, as "forgot password" does."""
    actor, reason = _start(tenant, staff, account, reason)
    if account.blocked_at is not None:
        raise ActionRefused("CONSOLE_BLOCKED")
    send_reset(tenant, settings_for(tenant), account, account.language)
    _emit(tenant, "password.reset_requested", account, actor, reason)
    db.session.commit()


# Access


def block(tenant: Tenant, staff: HasId | str, account: Account, reason: str | None) -> None:
    """Block the account: every session, open link and application token ends,
    and every login is refused with the message a wrong password gets."""
    actor, reason = _start(tenant, staff, account, reason)
    if account.blocked_at is not None:
        raise ActionRefused("CONSOLE_ALREADY_BLOCKED")
    account.blocked_at = utcnow()
    _end_everything(account)
    _emit(tenant, "account.blocked", account, actor, reason)
    db.session.commit()


def unblock(tenant: Tenant, staff: HasId | str, account: Account, reason: str | None) -> None:
    """Let the account log in again."""
    actor, reason = _start(tenant, staff, account, reason)
    if account.blocked_at is None:
        raise ActionRefused("CONSOLE_NOT_BLOCKED")
    account.blocked_at = None
    _emit(tenant, "account.unblocked", account, actor, reason)
    db.session.commit()


def end_sessions(tenant: Tenant, staff: HasId | str, account: Account, reason: str | None) -> None:
    """Log the customer out everywhere: browsers and applications."""
    actor, reason = _start(tenant, staff, account, reason)
    _end_everything(account)
    _emit(tenant, "sessions_ended", account, actor, reason)
    db.session.commit()


def _end_everything(account: Account) -> None:
    end_account_sessions(account)
    revoke_tokens(account)
    db.session.execute(
        update(OAuthToken)
        .where(
            OAuthToken.tenant_id == account.tenant_id,
            OAuthToken.account_id == account.id,
            OAuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )


# Details


def correct_details(
    tenant: Tenant,
    staff: HasId | str,
    account: Account,
    reason: str | None,
    changes: dict[str, str | None],
) -> dict[str, str | None]:
    """Correct the name, phone or contract number (`changes`: column -> value
    as typed; an empty phone removes it). The customer is told by email what
    changed. The stored values that changed, by column."""
    actor, reason = _start(tenant, staff, account, reason)
    settings = settings_for(tenant)
    unknown = set(changes) - set(CORRECTABLE)
    if unknown:
        raise ValueError(f"not correctable: {sorted(unknown)}")
    wanted = {name: _checked(settings, account, name, value) for name, value in changes.items()}
    changed = {name: value for name, value in wanted.items() if getattr(account, name) != value}
    if not changed:
        raise ActionRefused("CONSOLE_NOTHING_CHANGED")
    if "phone" in changed and changed["phone"] is None and account.sms_consent:
        raise ActionRefused("CONSOLE_PHONE_NEEDED_FOR_SMS")
    for name, value in changed.items():
        setattr(account, name, value)
    _emit(tenant, "account.details_changed", account, actor, reason, data={"changed": changed})
    mail.queue(
        tenant,
        settings,
        "details_corrected",
        account.email,
        account.language,
        account=account,
        changed=[name for name in CORRECTABLE if name in changed],
    )
    db.session.commit()
    return changed


def _checked(settings, account: Account, name: str, value: str | None) -> str | None:
    text = " ".join((value or "").split())
    if name in ("first_name", "last_name"):
        if not text:
            raise ActionRefused(
                "FIRST_NAME_REQUIRED" if name == "first_name" else "LAST_NAME_REQUIRED"
            )
        if len(text) > NAME_MAX:
            raise ActionRefused("VALUE_TOO_LONG")
        if not name_acceptable(text):
            raise ActionRefused("NAME_INVALID")
        return text
    if name == "phone":
        if not text:
            return None
        phone = normalise_phone(text)
        if phone is None:
            raise ActionRefused("PHONE_INVALID")
        return phone
    contract = settings.contract
    if contract is None:
        raise ActionRefused("CONSOLE_NO_CONTRACTS")
    if not text:
        return None
    number = normalise_contract_number(text)
    if len(number) > 40 or not contract.matches(number):
        raise ActionRefused("CONTRACT_FORMAT", example=contract.example)
    if account.company_code and not contract_is_active(settings.slug, number, account.company_code):
        raise ActionRefused("CONSOLE_CONTRACT_NOT_FOUND")
    return number


# Second factors


def remove_factor(
    tenant: Tenant,
    staff: HasId | str,
    account: Account,
    reason: str | None,
    *,
    identity_checked: bool,
    passkey_id: int | None = None,
) -> None:
    """Remove the customer's authenticator app (or, with `passkey_id`, that
    passkey), once the staff member has checked who asks (they tick that they
    did). The last factor too: where the tenant requires one, the customer
    sets up a new one at their next login. The customer is emailed, as when
    they remove one themselves."""
    actor, reason = _start(tenant, staff, account, reason)
    if not identity_checked:
        raise ActionRefused("CONSOLE_IDENTITY_UNCHECKED")
    by = factors.Remover(actor, reason)
    settings = settings_for(tenant)
    try:
        if passkey_id is None:
            factors.remove_authenticator(tenant, settings, account, by=by)
        else:
            factors.remove_passkey(tenant, settings, account, passkey_id, by=by)
    except factors.FactorNotFound:
        db.session.rollback()
        raise ActionRefused("CONSOLE_FACTOR_NOT_FOUND") from None

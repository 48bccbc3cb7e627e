"""Changes a customer makes to their own account."""

from __future__ import annotations

from .. import events, mail
from ..accounts import SECURE_LINK_HOURS, end_sessions, secure_link
from ..auth.stepup import mark_reauthenticated
from ..extensions import db
from ..models import Account, LoginSession, Tenant, utcnow
from ..security import hash_password, revoke_tokens, verify_password
from ..tenants import TenantSettings


class WrongPassword(Exception):
    pass


def update_preferences(account: Account, choices: dict, address: str | None = None) -> None:
    """Save the invoice and SMS choices (and the phone they depend on). The
    choices are account.preferences_changed (always audited, sent when one
    changed); a new phone is account.details_changed."""
    changed = {}
    for name in ("invoices_by_email", "sms_consent", "phone"):
        if name in choices:
            if getattr(account, name) != choices[name]:
                changed[name] = choices[name]
            setattr(account, name, choices[name])
    preferences = {k: v for k, v in changed.items() if k != "phone"}
    events.emit(
        account.tenant_id,
        "account.preferences_changed" if preferences else "preferences_changed",
        account=account,
        data={"changed": preferences},
        address=address,
    )
    if "phone" in changed:
        events.emit(
            account.tenant_id,
            "account.details_changed",
            account=account,
            data={"changed": {"phone": changed["phone"]}},
            address=address,
        )
    db.session.commit()


def change_password(
    tenant: Tenant,
    settings: TenantSettings,
    account: Account,
    current: str,
    new: str,
    address: str | None = None,
    keep_login: LoginSession | None = None,
) -> None:
    """Replace the password. Other sessions and every open link end (all but
    `keep_login`, the one that changed it); the owner is told by email, with
    a "this was not me" link, so a change they did not make does not go
    unnoticed. The current password asked for here is this action's step-up
    (auth/stepup.py): it counts as a fresh proof for `keep_login`."""
    if not verify_password(account, current):
        raise WrongPassword
    account.password_hash = hash_password(new)
    account.password_changed_at = utcnow()
    revoke_tokens(account)
    end_sessions(account, keep=keep_login)
    events.emit(tenant.id, "account.password_changed", account=account, address=address)
    mark_reauthenticated(keep_login)
    mail.queue(
        tenant,
        settings,
        "password_changed",
        account.email,
        account.language,
        account=account,
        secure_link=secure_link(settings, account),
        hours=SECURE_LINK_HOURS,
    )
    db.session.commit()

"""Changes a customer makes to their own account."""

from __future__ import annotations

from .. import mail
from ..auth.flows import end_sessions
from ..extensions import db
from ..models import Account, Tenant, utcnow
from ..security import hash_password, revoke_tokens, verify_password
from ..tenants import TenantSettings


class WrongPassword(Exception):
    pass


def update_preferences(account: Account, choices: dict) -> None:
    """Save the invoice and SMS choices (and the phone they depend on)."""
    for name in ("invoices_by_email", "sms_consent", "phone"):
        if name in choices:
            setattr(account, name, choices[name])
    db.session.commit()


def change_password(
    tenant: Tenant, settings: TenantSettings, account: Account, current: str, new: str
) -> None:
    """Replace the password. Other sessions and every open link end; the owner is
    told by email, so a change they did not make does not go unnoticed."""
    if not verify_password(account, current):
        raise WrongPassword
    account.password_hash = hash_password(new)
    account.password_changed_at = utcnow()
    revoke_tokens(account)
    end_sessions(account)
    mail.queue(
        tenant, settings, "password_changed", account.email, account.language, account=account
    )
    db.session.commit()
    mail.deliver_queued()

"""Changes a customer makes to their own account."""

from __future__ import annotations

from .. import audit, mail
from ..accounts import end_sessions
from ..extensions import db
from ..models import Account, Tenant, utcnow
from ..security import hash_password, revoke_tokens, verify_password
from ..tenants import TenantSettings


class WrongPassword(Exception):
    pass


def update_preferences(account: Account, choices: dict, address: str | None = None) -> None:
    """Save the invoice and SMS choices (and the phone they depend on)."""
    for name in ("invoices_by_email", "sms_consent", "phone"):
        if name in choices:
            setattr(account, name, choices[name])
    audit.record(account.tenant_id, "preferences_changed", account_id=account.id, address=address)
    db.session.commit()


def change_password(
    tenant: Tenant,
    settings: TenantSettings,
    account: Account,
    current: str,
    new: str,
    address: str | None = None,
) -> None:
    """Replace the password. Other sessions and every open link end; the owner is
    told by email, so a change they did not make does not go unnoticed."""
    if not verify_password(account, current):
        raise WrongPassword
    account.password_hash = hash_password(new)
    account.password_changed_at = utcnow()
    revoke_tokens(account)
    end_sessions(account)
    audit.record(tenant.id, "password_changed", account_id=account.id, address=address)
    mail.queue(
        tenant, settings, "password_changed", account.email, account.language, account=account
    )
    db.session.commit()
    mail.deliver_queued()

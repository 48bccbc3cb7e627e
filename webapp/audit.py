"""The audit log: who did what, when, at which utility, from roughly where.

Addresses are kept only as their network (IPv4 /24, IPv6 /48): enough to see a
burst from one network, not enough to identify a household."""

from __future__ import annotations

import hashlib
import ipaddress

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .forms import normalize_email
from .models import AuditEvent

EVENTS = (
    "registered",
    "registration_repeated",
    "confirmed",
    "login_succeeded",
    "login_failed",
    "logout",
    "reset_requested",
    "password_changed",
    "preferences_changed",
    "details_changed",
    "confirmation_resent",
    "factor_added",
    "factor_removed",
    # Recovery codes made anew (the old ones stop working).
    "recovery_codes_renewed",
    # A customer allowed, or stopped allowing, an application their data (webapp/oidc).
    "consent_granted",
    "consent_revoked",
    "email_change_requested",
    "email_changed",
    "sessions_ended",
    "account_secured",
    "deletion_requested",
    "deletion_cancelled",
    "deleted",
    # A QA suite read a test address's email through the QA mail API.
    "qa_mail_read",
    # Staff actions in the console (webapp/console): actor "staff:<id>", with a reason.
    "account_blocked",
    "account_unblocked",
    "contracts_imported",
    "webhook_endpoint_added",
    "webhook_endpoint_removed",
    "webhook_test_sent",
    "webhook_retried",
)

# What the pages call each event, in the reader's language: the customer's
# "download my data" page and the staff console's audit trail (an event
# without a name here is shown by its code).
EVENT_NAMES = {
    "registered": _l("Registered"),
    "registration_repeated": _l("Registered again with the same address"),
    "confirmed": _l("Email address confirmed"),
    "login_succeeded": _l("Logged in"),
    "login_failed": _l("Failed login"),
    "logout": _l("Logged out"),
    "reset_requested": _l("Password reset asked for"),
    "password_changed": _l("Password changed"),
    "preferences_changed": _l("Choices changed"),
    "details_changed": _l("Details changed"),
    "confirmation_resent": _l("Confirmation email sent again"),
    "factor_added": _l("Way to log in added"),
    "factor_removed": _l("Way to log in removed"),
    "recovery_codes_renewed": _l("New recovery codes made"),
    "consent_granted": _l("Application allowed"),
    "consent_revoked": _l("Application disconnected"),
    "email_change_requested": _l("New email address asked for"),
    "email_changed": _l("Email address changed"),
    "sessions_ended": _l("Logged out everywhere"),
    "account_secured": _l("Account secured"),
    "deletion_requested": _l("Deletion asked for"),
    "deletion_cancelled": _l("Deletion cancelled"),
    "deleted": _l("Account deleted"),
    "qa_mail_read": _l("Test email read through the QA mail API"),
    "account_blocked": _l("Account blocked"),
    "account_unblocked": _l("Account unblocked"),
    "contracts_imported": _l("Contract registry imported"),
    "webhook_endpoint_added": _l("Webhook endpoint added"),
    "webhook_endpoint_removed": _l("Webhook endpoint removed"),
    "webhook_test_sent": _l("Webhook test event sent"),
    "webhook_retried": _l("Webhook delivery retried"),
}


def network_of(address: str | None) -> str | None:
    """The address's network: 192.0.2.17 -> 192.0.2.0/24, 2001:db8::1 -> 2001:db8::/48."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def email_digest(email: str) -> str:
    """A keyed digest of an email, to link failed attempts on one address
    without storing an address that may have no account. Every spelling of one
    address (see `normalize_email`) gives the same digest."""
    key = current_app.config["SECRET_KEY"].encode()
    canonical = normalize_email(email) or email.strip().lower()
    return hashlib.blake2b(canonical.encode(), key=key[:64], digest_size=16).hexdigest()


def record(
    tenant_id: int,
    event: str,
    *,
    account_id: int | None = None,
    address: str | None = None,
    email: str | None = None,
    actor: str | None = None,
    request_id: str | None = None,
    reason: str | None = None,
) -> None:
    """Add an event to the current transaction; the caller commits it with the
    change it describes. Flows call events.emit, which records here."""
    assert event in EVENTS, event
    db.session.add(
        AuditEvent(
            tenant_id=tenant_id,
            account_id=account_id,
            event=event,
            network=network_of(address),
            email_digest=email_digest(email) if email else None,
            actor=actor,
            request_id=request_id,
            reason=reason,
        )
    )


def record_now(tenant_id: int, event: str, **kwargs) -> None:
    """Record and commit on its own: for events that change nothing else (a
    failed login). A failure to write is logged, never shown to the person."""
    try:
        record(tenant_id, event, **kwargs)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("audit event %s not written", event)

"""The audit log: who did what, when, at which utility, from roughly where.

Addresses are kept only as their network (IPv4 /24, IPv6 /48): enough to see a
burst from one network, not enough to identify a household."""

from __future__ import annotations

import hashlib
import ipaddress

from flask import current_app
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
    "sessions_ended",
    "contracts_imported",
    "webhook_endpoint_added",
    "webhook_endpoint_removed",
    "webhook_test_sent",
    "webhook_retried",
)


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

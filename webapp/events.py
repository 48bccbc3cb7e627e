"""One door per business fact: `emit` writes the audit row and one webhook
delivery per subscribed endpoint, in the caller's transaction, so the fact,
its audit row and its webhooks are committed together or not at all (the
transactional outbox, as for mail). The worker sends the deliveries; nothing
here talks to the network.

A fact is named by its webhook type (dotted, see TYPES), or, for what only the
audit log keeps (a logout, a repeated registration, a save that changed
nothing), by its audit name (audit.EVENTS)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from . import audit, logs, webhooks
from .extensions import db
from .models import Account

# Webhook type -> the audit event it is recorded as. The audit names are those
# the audit log always had; password_set (an activation link) stays
# "password_changed" there.
TYPES = {
    "account.registered": "registered",
    "account.email_confirmed": "confirmed",
    "account.password_set": "password_changed",
    "login.succeeded": "login_succeeded",
    "login.failed": "login_failed",
    "account.password_changed": "password_changed",
    "password.reset_requested": "reset_requested",
    "account.preferences_changed": "preferences_changed",
    "account.details_changed": "details_changed",
    "factor.added": "factor_added",
    "factor.removed": "factor_removed",
    "oidc.consent_granted": "consent_granted",
    "oidc.consent_revoked": "consent_revoked",
    "account.email_changed": "email_changed",
    "account.deletion_requested": "deletion_requested",
    "account.deletion_cancelled": "deletion_cancelled",
    "account.deleted": "deleted",
    # Staff actions (webapp/console): the audit row carries the staff member and
    # their reason; the webhook carries neither.
    "account.blocked": "account_blocked",
    "account.unblocked": "account_unblocked",
}
# Audited, never sent: the audit names with no webhook type.
AUDIT_ONLY = (
    "registered",  # a registration of an unconfirmed address, until its link is used
    "registration_repeated",
    "logout",
    "confirmation_resent",
    "qa_mail_read",
    "recovery_codes_renewed",
    "email_change_requested",  # a new address asked for, not yet confirmed
    "sessions_ended",  # "log out everywhere else", or one other device logged out
    "account_secured",  # "this was not me": every login and link ended
    # Staff actions (webapp/console) that change no customer data a utility's
    # systems hold.
    "contracts_imported",
    "webhook_endpoint_added",
    "webhook_endpoint_removed",
    "webhook_test_sent",
    "webhook_retried",
)
# Facts whose webhook is about an account: without one (a reset asked for an
# unknown address) only the audit row is written. A failed login is sent either
# way: a burst of them is what a utility's monitoring wants to see.
ACCOUNT_OPTIONAL = ("login.failed",)

ACTOR_RE = re.compile(r"customer|system|staff:[0-9]{1,18}")


def emit(
    tenant_id: int,
    type: str,
    *,
    account: Account | None = None,
    account_id: int | None = None,
    actor: str = "customer",
    data: dict[str, Any] | None = None,
    address: str | None = None,
    email: str | None = None,
    reason: str | None = None,
) -> None:
    """Record the fact `type` in the current transaction (the caller commits it
    with the change it describes): its audit row, with the actor and the
    request id, and its webhook deliveries. `data` is what the event's
    payload carries besides the account (see the README's events table);
    `address`, `email` and `reason` (a staff member's, see console/actions.py)
    go to the audit row only, as audit.record keeps them."""
    assert type in TYPES or type in audit.EVENTS, type
    assert ACTOR_RE.fullmatch(actor), actor
    if account is not None:
        account_id = account.id
    audit.record(
        tenant_id,
        TYPES.get(type, type),
        account_id=account_id,
        address=address,
        email=email,
        actor=actor,
        request_id=logs.request_id(),
        reason=reason,
    )
    for listener in current_app.extensions.get("event_listeners", {}).get(type, ()):
        listener(tenant_id, account=account, account_id=account_id)
    if type not in TYPES:
        return
    if account is None and account_id is not None:
        account = db.session.get(Account, account_id)
    if account is None and type not in ACCOUNT_OPTIONAL:
        return
    body = {"account": _account(account), **(data or {})}
    webhooks.queue(tenant_id, type, body)


def listen(app: Flask, type: str, listener: Callable[..., None]) -> None:
    """Call `listener(tenant_id, account=..., account_id=...)` inside every
    emit of `type` in `app`, after the audit row is added and in the same
    transaction (webapp/funnel counts confirmations and first logins so). A
    listener adds to the transaction; it never commits."""
    assert type in TYPES or type in audit.EVENTS, type
    app.extensions.setdefault("event_listeners", {}).setdefault(type, []).append(listener)


def emit_now(tenant_id: int, type: str, **kwargs) -> None:
    """Emit and commit on its own: for facts that change nothing else (a failed
    login). A failure to write is logged, never shown to the person."""
    try:
        emit(tenant_id, type, **kwargs)
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("event %s not written", type)


def _account(account: Account | None) -> dict[str, Any] | None:
    if account is None:
        return None
    if account.deleted_at is not None:
        # Purged: the utility learns which account, never a personal detail.
        return {"id": account.id, "email": None}
    return {"id": account.id, "email": account.email}

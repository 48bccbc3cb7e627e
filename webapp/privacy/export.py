"""'Download my data': everything we hold about the person, as JSON and as a
readable page. No secret goes in: no password hash, no link secret or digest,
no session id, no email bodies (they hold links), nothing of a second factor
but its name, kind and dates (no key, public key, secret or code digest).

What the audit log keeps is included as stored (GDPR gives the person the
right to see it): the event, when, who acted and the network (IPv4 /24, IPv6
/48; never the full address, which is not kept). Left out: the keyed digest of
an address and the request id, which are our internal cross-references and
say nothing about the person beyond the rows they are on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import (
    Account,
    AuditEvent,
    LoginSession,
    OutboxMessage,
    Passkey,
    RecoveryCode,
    Tenant,
    TotpFactor,
    utcnow,
)
from ..oidc.models import Consent, Subject
from .devices import describe

# The audit events that record a change of the invoice, SMS or phone choices.
PREFERENCE_EVENTS = ("preferences_changed", "details_changed")


def connected_apps(tenant: Tenant, account: Account) -> list[dict[str, Any]]:
    """The applications the person allowed to log them in (OpenID Connect
    consents): the client's name, the scopes, when granted."""
    consents = _rows(Consent, tenant, account, Consent.granted_at)
    return [
        {
            "name": consent.client.name,
            "scopes": list(consent.scopes),
            "granted_at": _time(consent.granted_at),
        }
        for consent in consents
    ]


def factors(tenant: Tenant, account: Account) -> list[dict[str, Any]]:
    """The second factors by name and kind, with their dates: never a
    credential id, a public key, a sealed secret or a code's digest."""
    listed: list[dict[str, Any]] = [
        {
            "kind": "passkey",
            "name": passkey.name,
            "created_at": _time(passkey.created_at),
            "last_used_at": _time(passkey.last_used_at),
        }
        for passkey in _rows(Passkey, tenant, account, Passkey.created_at)
    ]
    apps = _rows(TotpFactor, tenant, account, TotpFactor.created_at)
    listed += [
        {
            "kind": "authenticator_app",
            "name": None,
            "created_at": _time(app.confirmed_at),
            "last_used_at": _time(app.last_used_at),
        }
        for app in apps
        if app.confirmed_at is not None  # one being set up is not a way to log in yet
    ]
    codes = _rows(RecoveryCode, tenant, account, RecoveryCode.created_at)
    if codes:
        used = [code.used_at for code in codes if code.used_at is not None]
        listed.append(
            {
                "kind": "recovery_codes",
                "name": None,
                "created_at": _time(codes[0].created_at),
                "last_used_at": _time(max(used)) if used else None,
                "unused": sum(1 for code in codes if code.used_at is None),
            }
        )
    return listed


def _rows(model, tenant: Tenant, account: Account, when) -> list:
    """The account's rows of `model` at `tenant`, oldest first."""
    return list(
        db.session.scalars(
            select(model)
            .where(model.tenant_id == tenant.id, model.account_id == account.id)
            .order_by(when, model.id)
        )
    )


def _time(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def collect(tenant: Tenant, account: Account) -> dict[str, Any]:
    """The export, as plain JSON-ready data."""
    assert account.tenant_id == tenant.id
    audit = _rows(AuditEvent, tenant, account, AuditEvent.created_at)
    logins = _rows(LoginSession, tenant, account, LoginSession.authenticated_at)
    emails = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.tenant_id == tenant.id, OutboxMessage.recipient == account.email)
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    return {
        "exported_at": _time(utcnow()),
        "utility": {"name": tenant.name, "slug": tenant.slug},
        "account": {
            "email": account.email,
            "first_name": account.first_name,
            "last_name": account.last_name,
            "company_code": account.company_code,
            "is_customer": account.is_customer,
            "contract_number": account.contract_number,
            "phone": account.phone,
            "language": account.language,
            "created_at": _time(account.created_at),
            "email_confirmed_at": _time(account.email_confirmed_at),
            "password_changed_at": _time(account.password_changed_at),
            "deletion_due_at": _time(account.deletion_due_at),
        },
        "consents": {
            "terms": {
                "version": account.terms_version,
                "accepted_at": _time(account.terms_accepted_at),
                "language": account.terms_language,
            },
            "invoices_by_email": account.invoices_by_email,
            "sms_consent": account.sms_consent,
        },
        # The audit log records that a choice changed and when; the current
        # values are under "consents" and "account".
        "preference_history": [
            {"event": row.event, "at": _time(row.created_at)}
            for row in audit
            if row.event in PREFERENCE_EVENTS
        ],
        "audit_events": [
            {
                "event": row.event,
                "at": _time(row.created_at),
                "actor": row.actor,
                "network": row.network,
            }
            for row in audit
        ],
        "login_sessions": [
            {
                "browser": " / ".join(describe(row.user_agent)),
                "user_agent": row.user_agent,
                "methods": row.amr,
                "logged_in_at": _time(row.authenticated_at),
                "confirmed_again_at": _time(row.reauthenticated_at),
                "last_seen_at": _time(row.last_seen_at),
                "ended_at": _time(row.ended_at),
            }
            for row in logins
        ],
        "emails_sent": [
            {
                "kind": row.kind,
                "subject": row.subject,
                "created_at": _time(row.created_at),
                "sent_at": _time(row.sent_at),
            }
            for row in emails
        ],
        "connected_apps": connected_apps(tenant, account),
        # The identifier connected apps know the person by (OpenID Connect `sub`).
        "app_subject": db.session.scalar(
            select(Subject.subject).where(
                Subject.tenant_id == tenant.id, Subject.account_id == account.id
            )
        ),
        "factors": factors(tenant, account),
    }

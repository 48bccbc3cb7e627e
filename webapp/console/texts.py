"""What the console's pages call roles, states, actors and audit events, in
the reader's language. An event without a name here is shown by its code
(a new event reads as its code until it is named)."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..extensions import db
from .models import Staff

ROLE_NAMES = {"viewer": _l("Viewer"), "support": _l("Support"), "admin": _l("Administrator")}
STATE_NAMES = {
    "unconfirmed": _l("Unconfirmed"),
    "active": _l("Active"),
    "blocked": _l("Blocked"),
}
ACTOR_NAMES = {"customer": _l("the customer"), "system": _l("the system")}
EVENT_NAMES = {
    "registered": _l("Registered"),
    "registration_repeated": _l("Registered again with the same address"),
    "confirmed": _l("Email confirmed"),
    "login_succeeded": _l("Logged in"),
    "login_failed": _l("Failed login"),
    "logout": _l("Logged out"),
    "reset_requested": _l("Asked to reset the password"),
    "password_changed": _l("Password changed"),
    "preferences_changed": _l("Choices changed"),
    "details_changed": _l("Details changed"),
    "confirmation_resent": _l("Confirmation email sent again"),
    "factor_added": _l("Second way to log in added"),
    "factor_removed": _l("Second way to log in removed"),
    "recovery_codes_renewed": _l("New recovery codes made"),
    "consent_granted": _l("Application allowed"),
    "consent_revoked": _l("Application disconnected"),
    "qa_mail_read": _l("Test email read through the QA mail API"),
    # Staff actions (webapp/console/actions.py)
    "account_blocked": _l("Account blocked"),
    "account_unblocked": _l("Account unblocked"),
    "sessions_ended": _l("Logged out everywhere"),
    "contracts_imported": _l("Contract registry imported"),
    "webhook_endpoint_added": _l("Webhook endpoint added"),
    "webhook_endpoint_removed": _l("Webhook endpoint removed"),
    "webhook_test_sent": _l("Webhook test event sent"),
    "webhook_retried": _l("Webhook delivery retried"),
}


def actor_name(actor: str | None) -> str:
    """Who an audit row says acted, as staff read it."""
    if actor and actor.startswith("staff:") and actor[6:].isdigit():
        staff = db.session.get(Staff, int(actor[6:]))
        return gettext("staff: %(name)s", name=(staff.name or staff.email) if staff else actor[6:])
    return str(ACTOR_NAMES.get(actor or "customer", actor))


def event_name(event: str) -> str:
    return str(EVENT_NAMES.get(event, event))

"""What the console's pages call roles, states, actors and audit events, in
the reader's language. An event without a name here is shown by its code
(a new event reads as its code until it is named; the events' names are
webapp/audit.py's EVENT_NAMES, which the customer's own data page reads too)."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from ..audit import EVENT_NAMES
from ..extensions import db
from .models import Staff

ROLE_NAMES = {"viewer": _l("Viewer"), "support": _l("Support"), "admin": _l("Administrator")}
STATE_NAMES = {
    "unconfirmed": _l("Unconfirmed"),
    "active": _l("Active"),
    "blocked": _l("Blocked"),
    "deleting": _l("Being deleted"),
    "deleted": _l("Deleted"),
}
ACTOR_NAMES = {"customer": _l("the customer"), "system": _l("the system")}


def actor_name(actor: str | None) -> str:
    """Who an audit row says acted, as staff read it."""
    if actor and actor.startswith("staff:") and actor[6:].isdigit():
        staff = db.session.get(Staff, int(actor[6:]))
        return gettext("staff: %(name)s", name=(staff.name or staff.email) if staff else actor[6:])
    return str(ACTOR_NAMES.get(actor or "customer", actor))


def event_name(event: str) -> str:
    return str(EVENT_NAMES.get(event, event))

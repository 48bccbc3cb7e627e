"""The registration ticket: lets the 'check your email' page in a frame ask
whether its address has been confirmed since (see views.confirmed)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import current_app, g
from itsdangerous import BadData, URLSafeTimedSerializer

TICKET_SALT = "savitarna.embed-registration"


def registration_ticket(email: str) -> str | None:
    """In a frame, a signed note of who registered when, for the 'check your
    email' page to ask whether the address has been confirmed since (the
    host page's "savitarna:confirmed"). It travels in the URL fragment, which
    never reaches a server or its logs. None on the full site."""
    if not g.get("embed"):
        return None
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TICKET_SALT).dumps(
        # Its own time, to the microsecond: the signature's is whole seconds.
        {"tenant": g.tenant.slug, "email": email, "at": time.time()}
    )


def read_registration_ticket(ticket: str, tenant_slug: str, max_age: int):
    """(email, issued at as a Unix time), or None for a bad or expired ticket."""
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TICKET_SALT)
    try:
        data = serializer.loads(ticket, max_age=max_age)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("tenant") != tenant_slug:
        return None
    email, at = data.get("email"), data.get("at")
    if not isinstance(email, str) or not isinstance(at, int | float):
        return None
    return email, datetime.fromtimestamp(at, UTC)

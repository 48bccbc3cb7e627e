"""Email as the customer reads it: the outbox, and the links in a message."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import OutboxMessage

LINK_RE = re.compile(r"https?://\S+")


def outbox(app, to: str | None = None) -> list[OutboxMessage]:
    """The messages in the outbox (to `to`, if given), oldest first."""
    with app.app_context():
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if to:
            query = query.where(OutboxMessage.recipient == to)
        messages = list(db.session.scalars(query))
        db.session.expunge_all()
        return messages


def link_in(message: OutboxMessage | str, marker: str, *, full_url: bool = False) -> str:
    """The first link in an email's plain text (an outbox message, or the text
    itself) whose path contains `marker`.

    The choice is the caller's: by default its path and query, which the test
    client opens on its own host; with full_url=True the link as written, which a
    browser opens (the suites under e2e/)."""
    text = message if isinstance(message, str) else message.text_body
    for url in LINK_RE.findall(text):
        parts = urlsplit(url)
        if marker in parts.path:
            if full_url:
                return url
            return parts.path + (f"?{parts.query}" if parts.query else "")
    raise AssertionError(f"no link with {marker!r} in:\n{text}")

"""The outbox, newest first; a message's HTML shown in a sandboxed frame."""

from __future__ import annotations

from flask import abort, current_app, jsonify, make_response, request
from sqlalchemy import select

from ..extensions import db
from ..htmx import render
from ..models import OutboxMessage
from . import bp


@bp.before_request
def only_when_enabled():
    if not current_app.config["MAILBOX_ENABLED"]:
        abort(404)


def _messages(limit: int = 200):
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    to = request.args.get("to", "").strip().lower()
    if to:
        query = query.where(OutboxMessage.recipient == to)
    return list(db.session.scalars(query))


@bp.get("/")
def index():
    """Every message the app has written, newest first (`?to=` filters)."""
    return render("mailbox/index.html", messages=_messages(), to=request.args.get("to", ""))


@bp.get("/messages.json")
def messages_json():
    """The same list for test suites: recipient, subject, text, links."""
    return jsonify(
        [
            {
                "id": m.id,
                "tenant": m.tenant.slug if m.tenant else None,
                "kind": m.kind,
                "to": m.recipient,
                "subject": m.subject,
                "text": m.text_body,
                "language": m.language,
                "created_at": m.created_at.isoformat(),
                "sent_at": m.sent_at.isoformat() if m.sent_at else None,
            }
            for m in _messages()
        ]
    )


@bp.get("/<int:message_id>")
def show(message_id: int):
    """One message: headers, the plain text, and the HTML in a sandboxed frame."""
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    return render("mailbox/show.html", message=message)


@bp.get("/<int:message_id>/html")
def html(message_id: int):
    """The HTML part on its own, with a CSP that lets an email's inline styles
    render and nothing run."""
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    response = make_response(message.html_body)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox "
        "allow-top-navigation-by-user-activation"
    )
    return response

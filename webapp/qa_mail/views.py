"""GET-only JSON: the tenant's test set-up, and the messages to one test address.

Every answer that is not the data asked for is one of three: 404 when capture
is off, 401 without the right token, 404 for an address or message that is not
a test address's (whether or not any mail exists). Reads are audited."""

from __future__ import annotations

import hmac
import re

from flask import current_app, g, jsonify, request
from sqlalchemy import func, select

from ..events import emit
from ..extensions import db
from ..limits import client_address
from ..models import OutboxMessage
from ..tenants import is_qa_address
from . import bp

API_VERSION = 1
LINK_RE = re.compile(r"https?://[^\s<>\"']+")
LIST_LIMIT = 50


def _answer(status: int, error: str):
    response = jsonify({"error": error})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="savitarna-qa"'
    return response


@bp.before_request
def check_access():
    """Off unless the deployment turned it on; then only with the token,
    compared in constant time."""
    config = current_app.config
    if not config["QA_MAIL_CAPTURE"] or not config["QA_TOKEN"]:
        return _answer(404, "not_found")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    expected = config["QA_TOKEN"].encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        return _answer(401, "unauthorized")
    return None


@bp.after_request
def never_cached(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def setup():
    """What a QA suite needs to know about the tenant: its profile and the
    patterns its test addresses must match."""
    settings = g.settings
    return jsonify(
        {
            "api_version": API_VERSION,
            "tenant": settings.slug,
            "name": settings.name,
            "profile": settings.profile,
            "qa_addresses": list(settings.qa_addresses),
            "languages": list(current_app.config["LANGUAGES"]),
        }
    )


@bp.get("/messages")
def messages():
    """The messages to `?to=` (a test address), newest first."""
    to = request.args.get("to", "").strip().lower()
    if not to:
        return _answer(400, "to_required")
    if not is_qa_address(g.settings, to):
        return _answer(404, "not_found")
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.tenant_id == g.tenant.id, func.lower(OutboxMessage.recipient) == to)
        .order_by(OutboxMessage.id.desc())
        .limit(LIST_LIMIT)
    )
    found = [_as_json(message) for message in db.session.scalars(query)]
    _audit(to)
    return jsonify({"api_version": API_VERSION, "messages": found})


@bp.get("/messages/<int:message_id>")
def message(message_id: int):
    """One message to a test address; 404 for any other (ours or not)."""
    found = db.session.get(OutboxMessage, message_id)
    if (
        found is None
        or found.tenant_id != g.tenant.id
        or not is_qa_address(g.settings, found.recipient)
    ):
        return _answer(404, "not_found")
    data = _as_json(found)
    _audit(found.recipient)
    return jsonify({"api_version": API_VERSION, **data})


def _audit(address: str) -> None:
    # A tester's tool, not a customer: the system reads on their behalf.
    emit(g.tenant.id, "qa_mail_read", actor="system", address=client_address(), email=address)
    db.session.commit()


def _as_json(message: OutboxMessage) -> dict:
    return {
        "id": message.id,
        "kind": message.kind,
        "to": message.recipient,
        "subject": message.subject,
        "text": message.text_body,
        "html": message.html_body,
        "links": list(dict.fromkeys(LINK_RE.findall(message.text_body))),
        "language": message.language,
        "created_at": message.created_at.isoformat(),
        "sent_at": message.sent_at.isoformat() if message.sent_at else None,
    }

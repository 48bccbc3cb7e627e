"""GET-only JSON: the tenant's test set-up, and the messages to one test address.

Every answer that is not the data asked for is one of four: 404 when capture
is off, 401 without the right token, 404 for an address or message that is not
a test address's (whether or not any mail exists), 429 when an address asks too
often or has sent too many wrong tokens. Reads are audited."""

from __future__ import annotations

import hmac
import math
import re
import time

from flask import current_app, g, jsonify, request
from limits import parse
from sqlalchemy import func, select

from ..addresses import request_address
from ..events import emit
from ..extensions import db, limiter
from ..limits import client_address, retry_after_seconds, setting
from ..models import OutboxMessage
from ..tenants import is_qa_address
from . import bp

API_VERSION = 1
LINK_RE = re.compile(r"https?://[^\s<>\"']+")
LIST_LIMIT = 50


def _answer(status: int, error: str, retry_after: int | None = None):
    response = jsonify({"error": error})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="savitarna-qa"'
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


# Every request of the API, per client address (Flask-Limiter, before the token
# is looked at); its 429 is the JSON answer below, not the HTML error page.
limiter.limit(setting("RATELIMIT_QA_IP"), scope="qa_mail")(bp)


@bp.errorhandler(429)
def too_many(error):
    return _answer(429, "too_many_requests", retry_after_seconds())


class TokenFailures:
    """Wrong tokens per client address: after RATELIMIT_QA_TOKEN_FAILURES the
    address gets 429 for everything, the right token included, so that a guess
    cannot be told right from wrong until the window has passed."""

    def __init__(self):
        self.limit = parse(current_app.config["RATELIMIT_QA_TOKEN_FAILURES"])
        self.key = (current_app.config["RATELIMIT_KEY_PREFIX"], "qa_token", request_address())

    @property
    def on(self) -> bool:
        return bool(current_app.config.get("RATELIMIT_ENABLED", True))

    def shut_out(self) -> bool:
        return self.on and not limiter.limiter.test(self.limit, *self.key)

    def count(self) -> bool:
        """Count one failure; True when it was one too many."""
        return self.on and not limiter.limiter.hit(self.limit, *self.key)

    def retry_after(self) -> int:
        reset = limiter.limiter.get_window_stats(self.limit, *self.key).reset_time
        return max(1, min(self.limit.get_expiry(), math.ceil(reset - time.time())))


@bp.before_request
def check_access():
    """Off unless the deployment turned it on; then only with the token,
    compared in constant time, and not from an address that sent wrong ones."""
    config = current_app.config
    if not config["QA_MAIL_CAPTURE"] or not config["QA_TOKEN"]:
        return _answer(404, "not_found")
    failures = TokenFailures()
    if failures.shut_out():
        return _answer(429, "too_many_requests", failures.retry_after())
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    expected = config["QA_TOKEN"].encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        if failures.count():
            return _answer(429, "too_many_requests", failures.retry_after())
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

"""The one page embed mode adds: has the registration been confirmed yet?"""

from __future__ import annotations

from flask import abort, g, request

from ..accounts import confirmed_since
from ..extensions import limiter
from ..limits import setting
from . import bp
from .tickets import read_registration_ticket


@bp.post("/register/confirmed")
@limiter.limit(setting("RATELIMIT_CHECK_IP"))
def confirmed():
    """Asked now and then by the 'check your email' page in a frame (see
    static/js/embed-frame.js): 200 once the address of its ticket has been
    confirmed since the registration, 204 until then. An address that was
    confirmed before never counts, so the answer says nothing about accounts
    that already existed."""
    if not g.get("embed"):
        abort(404)
    ticket = read_registration_ticket(
        request.form.get("ticket", ""), g.tenant.slug, g.settings.confirm_hours * 3600
    )
    if ticket is None:
        abort(400)
    email, issued = ticket
    return ("", 200) if confirmed_since(g.tenant, email, issued) else ("", 204)

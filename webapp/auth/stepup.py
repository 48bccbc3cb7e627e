"""Step-up: an action that would let someone who found a logged-in browser
take the account over (changing the email, downloading everything we hold)
asks for the password again when the login is older than the tenant's
`reauthenticate_after`. The person proves it on the "confirm it's you" page
(auth.reauthenticate), which sets the login's `reauthenticated_at` and returns
to the page they were on.

Forms that already ask for the current password (change password, delete the
account) are their own step-up: a correct password there calls
`mark_reauthenticated` too, and they are not wrapped, so nobody types the
password twice."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import g, redirect, request, url_for

from ..models import LoginSession, utcnow
from .sessions import current_login, safe_next


def is_recent(login: LoginSession | None, seconds: int) -> bool:
    """Whether the person proved who they are in this login within `seconds`."""
    return login is not None and utcnow() - login.verified_at <= timedelta(seconds=seconds)


def mark_reauthenticated(login: LoginSession | None) -> None:
    """The person has just proved it again (in the caller's transaction)."""
    if login is not None:
        login.reauthenticated_at = utcnow()


def recent_login_required(view):
    """Put below `login_required`: a login older than the tenant's
    `reauthenticate_after` goes to "confirm it's you" first, and comes back to
    this page (a GET), or to the page the form was on (a POST cannot be
    replayed by a redirect: the person presses the button again)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if is_recent(current_login(), g.settings.reauthenticate_after):
            return view(*args, **kwargs)
        if request.method == "GET":
            back = request.full_path.removesuffix("?")
        else:
            referrer = urlsplit(request.referrer or "")
            same_site = referrer.netloc == request.host
            back = referrer.path + (f"?{referrer.query}" if referrer.query else "")
            back = back if same_site else ""
        next_url = safe_next(back, g.tenant.slug)
        return redirect(url_for("auth.reauthenticate", next=next_url), 303)

    return wrapper

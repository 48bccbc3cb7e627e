"""Step-up: an action that would let someone who found a logged-in browser
take the account over (changing the email or the password, removing a way to
log in, deleting the account, downloading everything we hold) asks the person
to prove it is them again when the login is older than the tenant's
`reauthenticate_after`. They prove it on the "confirm it is you" page
(auth.reauthenticate: the password, or one of their passkeys), which sets the
login's `reauthenticated_at` and returns to the page they were on.

A login is recent when its `authenticated_at` or its `reauthenticated_at` is
within `reauthenticate_after` seconds (LoginSession.verified_at)."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import g, redirect, request, url_for
from sqlalchemy import select

from ..extensions import db
from ..htmx import hx_redirect, wants_fragment
from ..models import Account, LoginSession, Passkey, utcnow
from .sessions import current_login, safe_next


def is_recent(login: LoginSession | None, seconds: int) -> bool:
    """Whether the person proved who they are in this login within `seconds`."""
    return login is not None and utcnow() - login.verified_at <= timedelta(seconds=seconds)


def mark_reauthenticated(login: LoginSession | None) -> None:
    """The person has just proved it again (in the caller's transaction)."""
    if login is not None:
        login.reauthenticated_at = utcnow()


def has_passkey(account: Account) -> bool:
    """Whether "confirm it is you" can offer a passkey to this account."""
    return (
        db.session.scalar(
            select(Passkey.id)
            .where(Passkey.tenant_id == account.tenant_id, Passkey.account_id == account.id)
            .limit(1)
        )
        is not None
    )


def _page_to_return_to() -> str | None:
    """This page (a GET), or the page the form was posted from: a POST cannot
    be replayed by a redirect, so the person comes back to the form and
    presses its button again."""
    if request.method == "GET":
        back = request.full_path.removesuffix("?")
    else:
        referrer = urlsplit(request.referrer or "")
        if referrer.netloc != request.host:
            return None
        back = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return safe_next(back, g.tenant.slug)


def recent_login_required(view):
    """Put below `login_required`: a login older than the tenant's
    `reauthenticate_after` goes to "confirm it is you" first, with the page to
    come back to as a checked `next`; nothing of the request is acted on."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if is_recent(current_login(), g.settings.reauthenticate_after):
            return view(*args, **kwargs)
        location = url_for("auth.reauthenticate", next=_page_to_return_to())
        return hx_redirect(location) if wants_fragment() else redirect(location, 303)

    return wrapper

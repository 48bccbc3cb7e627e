"""Where every login ends: `complete_login` is the one door into a logged-in
session (a password, the password set from an activation or reset link, and
later passkeys and single sign-on all pass through it). It rotates the
session, starts a `LoginSession` row (the device list, logout, and OpenID
Connect's `auth_time` and `amr` read it), records the login, and returns to a
checked `next` page.

A login may need one more step first (an authenticator code, a passkey): a
feature plugs its step in with `register_step`. When a step applies, the
half-done login waits in the session for LOGIN_STEP_SECONDS, the person is
sent to the step's page, and that page calls `finish_pending_login` once the
step is passed. A half-done login is not a login: `current_user` stays
anonymous until the last step is passed.

This is the only module that calls Flask-Login's `login_user`."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from .. import events
from ..extensions import db
from ..htmx import hx_redirect, wants_fragment
from ..limits import client_address
from ..messages import message
from ..models import Account, LoginSession

# The session key of a half-done login (also read by embed/sessions.py: a frame
# keeps its cookie for a half-done login as for a whole one).
PENDING_KEY = "login_pending"
# The session key of a whole login: its LoginSession's public_id.
LOGIN_KEY = "login"
# Longer than any page we link to; anything longer is not ours.
NEXT_MAX_LENGTH = 512
# Each first step and its RFC 8176 method references. A password set from an
# emailed link is a password login too: the link proved the address, not the person.
METHOD_AMR: dict[str, tuple[str, ...]] = {
    "password": ("pwd",),
    "activation": ("pwd",),
    "reset": ("pwd",),
    # A passkey with user verification (always required at login): possession
    # of the key ("hwk") and the authenticator's own check of the person
    # (PIN or biometric: "user"), two factors in one ("mfa").
    "passkey": ("hwk", "user", "mfa"),
}
USER_AGENT_MAX_LENGTH = 300


@dataclass(frozen=True)
class LoginStep:
    """A further step of a login: `applies(account)` says whether this account
    must pass it; `endpoint` is its page (built with url_for, the tenant added)."""

    name: str
    applies: Callable[[Account], bool]
    endpoint: str
    # Method references that make the step needless: a login that already has
    # one of them (a passkey login's "mfa") skips it.
    unless_amr: tuple[str, ...] = ()


def register_step(
    app: Flask,
    name: str,
    applies: Callable[[Account], bool],
    endpoint: str,
    unless_amr: Iterable[str] = (),
) -> None:
    """Add a step to every login of `app` whose account it applies to, after
    the steps registered before it, except logins whose method references
    already include one of `unless_amr`. Kept per application (not in a
    module global), so each app the factory builds has its own list."""
    steps: dict[str, LoginStep] = app.extensions.setdefault("login_steps", {})
    if name in steps:
        raise ValueError(f"login step {name!r} is already registered")
    steps[name] = LoginStep(name, applies, endpoint, tuple(unless_amr))


def _steps() -> list[LoginStep]:
    return list(current_app.extensions.get("login_steps", {}).values())


def safe_next(value: Any, tenant_slug: str) -> str | None:
    """`value` when it is a page of this tenant on this site (a path starting
    `/<tenant>/`), else None. Anything a browser could read as another host
    (`//host`, `/\\host`, `http:host`, a scheme), control characters, spaces and
    backslashes in any spelling (raw or percent-encoded), dot segments (which
    could climb into another tenant's path), non-ASCII and overlong values are
    refused rather than repaired."""
    if not isinstance(value, str) or not 0 < len(value) <= NEXT_MAX_LENGTH:
        return None
    # Printable ASCII only: no tab, newline, space, DEL or look-alike letters.
    if any(not 0x21 <= ord(char) <= 0x7E for char in value) or "\\" in value:
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    path = unquote(parts.path)
    if "\\" in path or any(not 0x21 <= ord(char) <= 0x7E for char in path):
        return None
    # Browsers resolve "." and ".." segments, the encoded %2e ones too.
    if any(segment in (".", "..") for segment in path.split("/")):
        return None
    if not path.startswith(f"/{tenant_slug}/"):
        return None
    return value


def complete_login(account: Account, method: str, *, next_url: str | None = None) -> Response:
    """End a login whose first step (`method`) has been passed: the answer that
    leads to the next step's page, or, when no step is left, the logged-in
    session and the way to `next_url` (checked again here) or the account page."""
    return _continue(account, method, next_url, done=(), amr=METHOD_AMR[method])


def _continue(
    account: Account,
    method: str,
    next_url: str | None,
    done: tuple[str, ...],
    amr: Iterable[str],
    started_at: float | None = None,
) -> Response:
    amr = list(dict.fromkeys(amr))
    if account.blocked_at is not None:
        # Blocked by staff (a passkey, a reset link, a step passed after the
        # block): refused with the message a wrong password gets.
        session.clear()
        flash(message("LOGIN_FAILED"), "error")
        return _go(url_for("auth.login"))
    step = next(
        (
            s
            for s in _steps()
            if s.name not in done and not set(s.unless_amr) & set(amr) and s.applies(account)
        ),
        None,
    )
    if step is None:
        # What the pages of a half-done login said ("your password is saved")
        # is still to be shown after it.
        said = session.get("_flashes") if done else None
        start_login(account, amr)
        if said:
            session["_flashes"] = said
        _record_login(account, method)
        db.session.commit()
        target = safe_next(next_url, g.tenant.slug) or url_for("account.home")
        return _go(target)
    # Rotated as at a whole login: nothing set before the login survives it.
    session.clear()
    session[PENDING_KEY] = {
        "tenant": account.tenant_id,
        "account": account.id,
        "epoch": account.session_epoch,
        "method": method,
        "next": safe_next(next_url, g.tenant.slug),
        "started_at": time.time() if started_at is None else started_at,
        "step": step.name,
        "done": list(done),
        "amr": amr,
    }
    return _go(url_for(step.endpoint))


def pending_login(step: str) -> Account | None:
    """The account whose half-done login waits for `step` (for the step's page
    to check a code against), or None: no such login, another step's turn, or
    expired."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("step") != step:
        return None
    if pending.get("tenant") != g.tenant.id:
        return None
    started_at = pending.get("started_at")
    limit = current_app.config["LOGIN_STEP_SECONDS"]
    if not isinstance(started_at, int | float) or not 0 <= time.time() - started_at <= limit:
        return None
    # The epoch: a password reset or a logout everywhere since the first step
    # ends the half-done login as it ends whole ones.
    return db.session.scalar(
        select(Account).where(
            Account.id == pending.get("account"),
            Account.tenant_id == g.tenant.id,
            Account.session_epoch == pending.get("epoch"),
        )
    )


def finish_pending_login(step: str, amr: Iterable[str] = ()) -> Response:
    """Called by `step`'s page once the person has passed it, with the method
    references of what they passed (RFC 8176: "otp", "hwk" ...): the next
    step's page, or the completed login. A half-done login that has expired (or
    is not at this step) is dropped, and the person is asked to log in again."""
    account = pending_login(step)
    pending = session.get(PENDING_KEY) or {}
    if account is None:
        return abandon_pending_login()
    done = (*pending.get("done", ()), step)
    return _continue(
        account,
        pending["method"],
        pending.get("next"),
        done=done,
        amr=[*pending.get("amr", ()), *amr],
        started_at=pending["started_at"],
    )


def abandon_pending_login() -> Response:
    """Drop a half-done login and ask the person to log in again, with the page
    they were going to kept. A step's page opened with no login under way
    asks to log in, as any page that needs one does."""
    pending = session.pop(PENDING_KEY, None) or {}
    flash(message("LOGIN_STEP_EXPIRED" if pending else "LOGIN_REQUIRED"), "info")
    next_url = safe_next(pending.get("next"), g.tenant.slug)
    return _go(url_for("auth.login", next=next_url) if next_url else url_for("auth.login"))


def start_login(account: Account, amr: list[str]) -> LoginSession:
    """A fresh cookie and a new LoginSession for `account` (in the caller's
    transaction): nothing set before the login survives it."""
    login = LoginSession(
        tenant_id=account.tenant_id,
        account_id=account.id,
        public_id=secrets.token_urlsafe(32),
        amr=amr,
        user_agent=(request.user_agent.string or None)
        and request.user_agent.string[:USER_AGENT_MAX_LENGTH],
    )
    db.session.add(login)
    session.clear()
    login_user(account)
    session[LOGIN_KEY] = login.public_id
    g.login_session = login
    return login


def renew_session(account: Account) -> None:
    """A fresh cookie for the same login, after a password change (whose new
    session epoch ends every cookie, this one's too)."""
    login = current_login()
    session.clear()
    login_user(account)
    if login is not None:
        session[LOGIN_KEY] = login.public_id


def log_out() -> None:
    """This browser's login ends (the logout button, and an application's
    logout through OpenID Connect); the account's other logins go on."""
    if current_user.is_authenticated:
        from ..accounts import end_login

        account = current_user._get_current_object()
        login = current_login()
        if login is not None:
            end_login(login)
        events.emit(g.tenant.id, "logout", account=account, address=client_address())
        db.session.commit()
    logout_user()
    session.clear()


def current_login() -> LoginSession | None:
    """The LoginSession of this request's logged-in person, or None."""
    if "login_session" not in g:
        g.login_session = None
        public_id = session.get(LOGIN_KEY)
        if current_user.is_authenticated and isinstance(public_id, str):
            g.login_session = db.session.scalar(
                select(LoginSession).where(
                    LoginSession.public_id == public_id,
                    LoginSession.account_id == current_user.id,
                    LoginSession.tenant_id == current_user.tenant_id,
                    LoginSession.ended_at.is_(None),
                )
            )
    return g.login_session


def _record_login(account: Account, method: str) -> None:
    # The one place a login is recorded: its audit row and its webhook, which
    # says how the person logged in (the audit row has no field for it).
    events.emit(
        account.tenant_id,
        "login.succeeded",
        account=account,
        data={"method": method},
        address=client_address(),
    )


def _go(location: str) -> Response:
    """A redirect that works with and without htmx."""
    if wants_fragment():
        return hx_redirect(location)
    return redirect(location, 303)

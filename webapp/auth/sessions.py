"""Where every login ends: `complete_login` is the one door into a logged-in
session (a password, the password set from an activation or reset link, and
later passkeys and single sign-on all pass through it). It rotates the
session, records the login, and returns to a checked `next` page.

A login may need one more step first (an authenticator code, a passkey): a
feature plugs its step in with `register_step`. When a step applies, the
half-done login waits in the session for LOGIN_STEP_SECONDS, the person is
sent to the step's page, and that page calls `finish_pending_login` once the
step is passed. A half-done login is not a login: `current_user` stays
anonymous until the last step is passed.

This is the only module that calls Flask-Login's `login_user`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, current_app, flash, g, redirect, session, url_for
from flask_login import login_user
from sqlalchemy import select

from .. import events
from ..extensions import db
from ..htmx import hx_redirect, wants_fragment
from ..limits import client_address
from ..messages import message
from ..models import Account

# The session key of a half-done login (also read by embed/sessions.py: a frame
# keeps its cookie for a half-done login as for a whole one).
PENDING_KEY = "login_pending"
# Longer than any page we link to; anything longer is not ours.
NEXT_MAX_LENGTH = 512
METHODS = ("password", "activation", "reset")


@dataclass(frozen=True)
class LoginStep:
    """A further step of a login: `applies(account)` says whether this account
    must pass it; `endpoint` is its page (built with url_for, the tenant added)."""

    name: str
    applies: Callable[[Account], bool]
    endpoint: str


def register_step(app: Flask, name: str, applies: Callable[[Account], bool], endpoint: str) -> None:
    """Add a step to every login of `app` whose account it applies to, after
    the steps registered before it. Kept per application (not in a module
    global), so each app the factory builds has its own list."""
    steps: dict[str, LoginStep] = app.extensions.setdefault("login_steps", {})
    if name in steps:
        raise ValueError(f"login step {name!r} is already registered")
    steps[name] = LoginStep(name, applies, endpoint)


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
    assert method in METHODS, method
    return _continue(account, method, next_url, done=())


def _continue(
    account: Account,
    method: str,
    next_url: str | None,
    done: tuple[str, ...],
    started_at: float | None = None,
) -> Response:
    step = next((s for s in _steps() if s.name not in done and s.applies(account)), None)
    if step is None:
        renew_session(account)
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


def finish_pending_login(step: str) -> Response:
    """Called by `step`'s page once the person has passed it: the next step's
    page, or the completed login. A half-done login that has expired (or is not
    at this step) is dropped, and the person is asked to log in again."""
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


def renew_session(account: Account) -> None:
    """A fresh session for `account`: at the end of a login, and after a
    password change (whose new session epoch ends the old cookie)."""
    session.clear()
    login_user(account)


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

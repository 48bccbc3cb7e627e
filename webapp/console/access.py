"""Who is logged in to the console and what they may see. The one place the
console session is read: views call `current_staff()`, `require_role()` and
`tenants_for()`; the login views call the `*_pending` and `log_in` helpers.

A console login is two steps: the password, then an authenticator code
(set up at the first login). Between them the half-done login waits in the
console session for LOGIN_STEP_SECONDS; it is not a login."""

from __future__ import annotations

import time
from functools import wraps

from flask import abort, current_app, g, redirect, request, session, url_for
from sqlalchemy import select

from ..extensions import db
from ..models import Tenant
from .flows import end_login, find_login, pending_staff, start_login
from .models import ROLES, Staff, StaffRole

LOGIN_KEY = "staff_login"
PENDING_KEY = "staff_pending"


def current_staff() -> Staff | None:
    """The staff member logged in to the console in this request, or None."""
    if "console_staff" not in g:
        login = find_login(session.get(LOGIN_KEY))
        g.console_login = login
        g.console_staff = login.staff if login is not None else None
    return g.console_staff


def staff_required(view):
    """A console page for logged-in staff; anyone else goes to the console login."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_staff() is None:
            return redirect(url_for("console.login"), 303)
        return view(*args, **kwargs)

    return wrapper


def role_at(staff: Staff, tenant: Tenant) -> str | None:
    """The staff member's role at `tenant` ("admin" for the owner), or None."""
    if staff.is_owner:
        return "admin"
    return db.session.scalar(
        select(StaffRole.role).where(
            StaffRole.staff_id == staff.id, StaffRole.tenant_id == tenant.id
        )
    )


def has_role(staff: Staff, tenant: Tenant, role: str) -> bool:
    """Whether the staff member may act as `role` (or more) at `tenant`."""
    held = role_at(staff, tenant)
    return held is not None and ROLES.index(held) >= ROLES.index(role)


def require_role(tenant: Tenant, role: str) -> Staff:
    """The logged-in staff member if they hold `role` (or more) at `tenant`;
    else the console's 403 page (the console's own error handler)."""
    assert role in ROLES, role
    staff = current_staff()
    if staff is None or not has_role(staff, tenant, role):
        abort(403)
    return staff


def tenants_for(staff: Staff) -> list[Tenant]:
    """The tenants the staff member works for (every one, for the owner), by name."""
    query = select(Tenant).order_by(Tenant.name)
    if not staff.is_owner:
        query = query.join(StaffRole, StaffRole.tenant_id == Tenant.id).where(
            StaffRole.staff_id == staff.id
        )
    return list(db.session.scalars(query))


def console_tenant(slug: str, role: str = "viewer") -> tuple[Tenant, Staff]:
    """The tenant of a console URL and the staff member allowed `role` there:
    404 for a slug that is no tenant, 403 for one they do not work for."""
    tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        abort(404)
    return tenant, require_role(tenant, role)


# The login's steps


def start_pending(staff: Staff) -> None:
    """The password was right: the half-done login waits for the code."""
    session.clear()
    session[PENDING_KEY] = {
        "staff": staff.id,
        "stamp": staff.password_set_at.isoformat() if staff.password_set_at else None,
        "started_at": time.time(),
    }


def pending() -> Staff | None:
    """The staff member whose half-done login waits in this session, or None
    (none, expired, or their password changed since)."""
    waiting = session.get(PENDING_KEY)
    if not isinstance(waiting, dict):
        return None
    started_at = waiting.get("started_at")
    limit = current_app.config["LOGIN_STEP_SECONDS"]
    if not isinstance(started_at, int | float) or not 0 <= time.time() - started_at <= limit:
        return None
    return pending_staff(waiting.get("staff"), waiting.get("stamp"))


def log_in(staff: Staff) -> None:
    """Both steps passed: a fresh console session holding the new login."""
    login = start_login(staff, request.user_agent.string)
    session.clear()
    session[LOGIN_KEY] = login.public_id
    g.console_login, g.console_staff = login, staff


def log_out() -> None:
    """This browser's console login ends; the session is emptied."""
    current_staff()
    if g.get("console_login") is not None:
        end_login(g.console_login)
    session.clear()
    g.console_login = g.console_staff = None

"""The console's pages. Thin: forms check input, flows decide, access.py
says who is logged in and what they may see."""

from __future__ import annotations

import hashlib

from flask import abort, flash, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError

from ..addresses import request_address
from ..extensions import limiter
from ..forms import NewPasswordForm, normalize_email
from ..htmx import render, wants_fragment
from ..limits import failed, refunded_unless, setting
from ..messages import message
from . import bp
from .access import (
    PENDING_KEY,
    console_tenant,
    current_staff,
    log_in,
    log_out,
    pending,
    role_at,
    staff_required,
    start_pending,
    tenants_for,
)
from .flows import (
    STAFF_PASSWORD,
    StaffLoginFailed,
    WrongStaffCode,
    authenticate,
    check_code,
    confirm_authenticator,
    link_staff,
    set_password_from_link,
    start_authenticator,
)
from .forms import SearchForm, StaffCodeForm, StaffLoginForm
from .search import customer_of, customer_record, search_customers, state_of
from .texts import ROLE_NAMES, STATE_NAMES, actor_name, event_name

# Rate-limit keys: each starts with "console", apart from the customers' keys.


def address_key() -> str:
    return f"console:address:{request_address()}"


def email_key() -> str:
    """The email typed, as the login normalises it (a digest, never the address)."""
    typed = request.form.get("email") or ""
    email = (normalize_email(typed) or typed.strip().casefold())[:320]
    return "console:email:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def staff_key() -> str:
    """The staff member of the half-done login, whatever address the codes come from."""
    waiting = session.get(PENDING_KEY)
    staff_id = waiting.get("staff") if isinstance(waiting, dict) else None
    return f"console:staff:{staff_id if isinstance(staff_id, int) else '-'}"


# Every console page without limits of its own counts against this one.
limiter.limit(setting("RATELIMIT_CONSOLE_PAGE_IP"), key_func=address_key)(bp)


@bp.context_processor
def console_context() -> dict:
    return {
        "console_staff": current_staff,
        "role_names": ROLE_NAMES,
        "state_names": STATE_NAMES,
        "state_of": state_of,
        "actor_name": actor_name,
        "event_name": event_name,
    }


def _go(endpoint: str, **values):
    return redirect(url_for(endpoint, **values), 303)


def _next_step(staff):
    """After the password: set up the app (first login) or type its code."""
    start_pending(staff)
    if staff.totp_confirmed_at is None:
        return _go("console.set_up")
    return _go("console.code")


def _expired():
    session.pop(PENDING_KEY, None)
    flash(message("LOGIN_STEP_EXPIRED"), "info")
    return _go("console.login")


@bp.errorhandler(403)
@bp.errorhandler(404)
@bp.errorhandler(429)
@bp.errorhandler(CSRFError)
def console_error(error):
    """The console's own error page (its own navigation, no utility's brand)."""
    code = 400 if isinstance(error, CSRFError) else error.code
    minutes = 1
    if code == 429:
        from ..limits import retry_after_seconds

        seconds = retry_after_seconds()
        minutes = max(1, round(seconds / 60))
    response = render("console/error.html", code, code=code, minutes=minutes)
    if code == 429:
        response.headers["Retry-After"] = str(seconds)
    if wants_fragment():
        response.headers["HX-Reswap"] = "none"
    return response


@bp.get("/")
@staff_required
def home():
    """The tenants the staff member works for, with their role at each."""
    staff = current_staff()
    tenants = [(tenant, role_at(staff, tenant)) for tenant in tenants_for(staff)]
    return render("console/home.html", tenants=tenants)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_CONSOLE_LOGIN_IP"), key_func=address_key, methods=["POST"])
@limiter.limit(
    setting("RATELIMIT_CONSOLE_LOGIN_ACCOUNT"),
    key_func=email_key,
    methods=["POST"],
    scope="console-login-account",
)
@refunded_unless(failed, "console-login-account")
def login():
    """Staff login, first step: email and password. One answer for every failure."""
    if current_staff() is not None:
        return _go("console.home")
    form = StaffLoginForm()
    error = None
    if form.validate_on_submit():
        try:
            staff = authenticate(form.email.data, form.password.data)
        except StaffLoginFailed:
            error = message("LOGIN_FAILED")
        else:
            return _next_step(staff)
    status = 422 if (error or form.errors) else 200
    return render("console/login.html", status, form=form, error=error)


# Wrong codes of one half-done login count together on both code pages.
code_limit = limiter.limit(
    setting("RATELIMIT_CONSOLE_CODE"), key_func=staff_key, methods=["POST"], scope="console-code"
)


@bp.route("/login/code", methods=["GET", "POST"])
@code_limit
@refunded_unless(failed, "console-code")
def code():
    """Staff login, second step: a code from the authenticator app."""
    return _code_step(set_up=False)


@bp.route("/login/set-up", methods=["GET", "POST"])
@code_limit
@refunded_unless(failed, "console-code")
def set_up():
    """First login: set up the authenticator app the console requires."""
    return _code_step(set_up=True)


def _code_step(set_up: bool):
    """A code typed at a half-done login: from the confirmed app, or the first
    one of the app being set up (each on its own page; the other page leads
    to the right one)."""
    staff = pending()
    if staff is None:
        return _expired()
    if (staff.totp_confirmed_at is None) is not set_up:
        return _go("console.code" if set_up else "console.set_up")
    form = StaffCodeForm()
    error = None
    if form.validate_on_submit():
        try:
            (confirm_authenticator if set_up else check_code)(staff, form.code.data)
        except WrongStaffCode:
            error = message("CONSOLE_CODE_WRONG")
        else:
            log_in(staff)
            if set_up:
                flash(message("AUTHENTICATOR_ADDED"), "success")
            return _go("console.home")
    status = 422 if (error or form.errors) else 200
    if not set_up:
        return render("console/code.html", status, form=form, error=error)
    key, qr = start_authenticator(staff)
    return render("console/set_up.html", status, form=form, error=error, key=key, qr=qr)


@bp.post("/logout")
def logout():
    """Log out of the console (this browser)."""
    log_out()
    flash(message("LOGGED_OUT"), "info")
    return _go("console.login")


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_CONSOLE_LINK_IP"), key_func=address_key)
def set_password(token: str):
    """The invitation's link: choose a password, then set up the app.
    Opening the link uses nothing up; saving the password does."""
    staff = link_staff(token)
    if staff is None:
        return render("console/link_invalid.html", 410)
    form = NewPasswordForm(STAFF_PASSWORD)
    if form.validate_on_submit():
        staff = set_password_from_link(token, form.password.data)
        if staff is None:
            return render("console/link_invalid.html", 410)
        flash(message("PASSWORD_SAVED"), "success")
        return _next_step(staff)
    status = 422 if form.errors else 200
    return render(
        "console/set_password.html", status, form=form, staff=staff, policy=STAFF_PASSWORD
    )


@bp.get("/<slug>/customers")
@staff_required
def customers(slug: str):
    """Search the tenant's customers (as you type with htmx; a plain GET form
    without JavaScript). An htmx request gets the results only."""
    tenant, _staff = console_tenant(slug, "viewer")
    form = SearchForm(formdata=request.args)
    text = (form.q.data or "")[:100]
    page = request.args.get("page", 1, type=int) or 1
    results = search_customers(tenant, text, page)
    context = {"console_tenant": tenant, "form": form, "results": results, "q": text}
    if wants_fragment():
        return render("console/_results.html", **context)
    return render("console/customers.html", **context)


@bp.get("/<slug>/customers/<int:account_id>")
@staff_required
def customer(slug: str, account_id: int):
    """One customer: details, state, consents, factors (names only), sessions
    and the recent audit trail. Another tenant's customer is not found."""
    tenant, staff = console_tenant(slug, "viewer")
    account = customer_of(tenant, account_id)
    if account is None:
        abort(404)
    return render(
        "console/customer.html",
        console_tenant=tenant,
        record=customer_record(tenant, account),
        role=role_at(staff, tenant),
    )

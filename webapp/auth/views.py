"""Login and emailed-link pages. Thin: forms check input, flows decide."""

from __future__ import annotations

from flask import flash, g, redirect, request, session, url_for
from flask_babel import get_locale
from flask_login import current_user, login_required, logout_user

from ..accounts import end_login, secure_account, secure_link_account
from ..embed.probe import frame_keeps_no_cookies
from ..extensions import limiter
from ..htmx import render
from ..jobs import later
from ..limits import account_key, client_address, failed, logged_in_key, refunded_unless, setting
from ..messages import message
from ..pagecache import blank_form_page
from ..tenants import current_settings
from . import bp
from .flows import (
    Confirmation,
    EmailUnconfirmed,
    LoginFailed,
    authenticate,
    confirm_email,
    confirm_password,
    confirmation_page,
    link_account,
    request_password_reset,
    resend_confirmation,
    set_password_from_link,
)
from .forms import EmailForm, LinkForm, LoginForm, NewPasswordForm, ReauthenticateForm
from .sessions import PENDING_KEY, complete_login, current_login, log_out, safe_next
from .stepup import has_passkey


@bp.route("/", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_LOGIN_IP"), methods=["POST"])
# Charged before the password is checked, so parallel guesses cannot overshoot
# it; only failures keep their charge.
@limiter.limit(
    setting("RATELIMIT_LOGIN_ACCOUNT"),
    key_func=account_key,
    methods=["POST"],
    scope="login-account",
)
@refunded_unless(failed, "login-account")
def login():
    """The utility's login page, with links to register and reset the password."""
    form = LoginForm()
    # The page to return to: from ?next= on the page, from the hidden field on
    # its post; never anything but this tenant's own pages.
    asked = form.next.data if form.is_submitted() else request.args.get("next")
    form.next.data = safe_next(asked, g.tenant.slug) or ""
    # ?reauth=1 (an application asking for a fresh login: OpenID Connect's
    # prompt=login or max_age) shows the form to a logged-in person too.
    again = (form.reauth.data if form.is_submitted() else request.args.get("reauth")) == "1"
    form.reauth.data = "1" if again else ""
    if current_user.is_authenticated and not again:
        return redirect(form.next.data or url_for("account.home"))
    error = None
    if form.is_submitted() and frame_keeps_no_cookies():
        return render("auth/login.html", form=form, frame_without_cookies=True)
    if form.validate_on_submit():
        try:
            account = authenticate(
                g.tenant, form.email.data, form.password.data, str(get_locale()), client_address()
            )
        except LoginFailed:
            error = message("LOGIN_FAILED")
        except EmailUnconfirmed:
            error = message("LOGIN_UNCONFIRMED")
            session["resend_email"] = form.email.data
        else:
            previous = current_login()
            if previous is not None:
                end_login(previous)  # replaced by the login now completed
            return complete_login(account, "password", next_url=form.next.data)
    elif not form.is_submitted():
        # An application's login_hint (OpenID Connect) fills the email too.
        hint = request.args.get("login_hint", "")[:254] or None
        form.email.data = session.pop("login_email", None) or hint
        if not form.email.data:
            # The same page for every visitor but the token (webapp/pagecache.py).
            return blank_form_page("auth/login.html", lambda: {"form": form, "error": None})
    failed = bool(error or form.errors)
    return render("auth/login.html", 422 if failed else 200, form=form, error=error)


@bp.post("/logout")
def logout():
    """Log out: this browser's login ends; the account's logins on other
    devices go on (the account page can end them)."""
    log_out()
    flash(message("LOGGED_OUT"), "info")
    return redirect(url_for(".login"), 303)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
def confirm(token: str):
    """The residential confirmation link. Opening it changes nothing (mail
    scanners open links too): it shows a button, and the button's POST
    confirms, then leads to the login page with the email filled in. Works in
    any browser, JavaScript or not: it needs nothing but the link."""
    form = LinkForm()
    if form.validate_on_submit():
        outcome, account = confirm_email(g.tenant, token, client_address())
        email = account.email if account is not None else None
    else:
        outcome, details = confirmation_page(g.tenant, token)
        email = details.email if details is not None else None
    if outcome is Confirmation.INVALID:
        return render("auth/link_invalid.html", 410, purpose="confirm")
    if outcome is Confirmation.PENDING:
        return render("auth/confirm.html", form=form, details=details)
    session["login_email"] = email
    key = "EMAIL_CONFIRMED" if outcome is Confirmation.CONFIRMED else "EMAIL_ALREADY_CONFIRMED"
    flash(message(key), "success")
    # A registration started from an application's login goes on there.
    return redirect(safe_next(request.args.get("next"), g.tenant.slug) or url_for(".login"), 303)


def _new_password_page(token: str, purposes: tuple[str, ...], template: str):
    account = link_account(g.tenant, purposes, token)
    if account is None:
        return render("auth/link_invalid.html", 410, purpose=purposes[0])
    form = NewPasswordForm(current_settings().password)
    if form.validate_on_submit():
        account = set_password_from_link(
            g.tenant, purposes, token, form.password.data, client_address()
        )
        if account is None:
            return render("auth/link_invalid.html", 410, purpose=purposes[0])
        method = "activation" if purposes == ("activate",) else "reset"
        response = complete_login(account, method, next_url=request.args.get("next"))
        # After the session is renewed; "you are logged in" only once it is
        # (a further step, such as a required second factor, may come first).
        done = PENDING_KEY not in session
        flash(message("PASSWORD_SET" if done else "PASSWORD_SAVED"), "success")
        return response
    return render(template, 422 if form.errors else 200, form=form, account=account)


@bp.route("/activate/<token>", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
def activate(token: str):
    """The business confirmation link: 'set new password', then the account page.
    Opening the link does not use it up; saving the password does."""
    return _new_password_page(token, ("activate",), "auth/activate.html")


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
def reset(token: str):
    """The reset link: a new password under the tenant's policy, then logged in."""
    return _new_password_page(token, ("reset",), "auth/reset.html")


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_EMAIL_IP"), methods=["POST"])
@limiter.limit(setting("RATELIMIT_EMAIL_ACCOUNT"), key_func=account_key, methods=["POST"])
def forgot():
    """'Forgot your password?': the same answer whether or not the email is known."""
    form = EmailForm()
    if form.validate_on_submit():
        later(request_password_reset, form.email.data, str(get_locale()), client_address())
        return render("auth/link_sent.html", purpose="reset", email=form.email.data)
    return render("auth/forgot.html", 422 if form.errors else 200, form=form)


@bp.route("/resend", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_EMAIL_IP"), methods=["POST"])
@limiter.limit(setting("RATELIMIT_EMAIL_ACCOUNT"), key_func=account_key, methods=["POST"])
def resend():
    """'Send the confirmation email again': the same answer for any address."""
    form = EmailForm()
    if form.validate_on_submit():
        later(resend_confirmation, form.email.data, client_address())
        return render("auth/link_sent.html", purpose="confirm", email=form.email.data)
    if not form.is_submitted():
        form.email.data = session.pop("resend_email", None)
    return render("auth/resend.html", 422 if form.errors else 200, form=form)


@bp.post("/password-rules")
@limiter.limit(setting("RATELIMIT_CHECK_IP"))
def password_rules():
    """The password checklist (htmx): every rule of the tenant's policy met or
    unmet, and whether the repeated password matches. Used by every page that
    sets a password."""
    password = request.form.get("password", "")[:200]
    repeat = request.form.get("password2", "")[:200]
    policy = current_settings().password
    match = None
    if repeat:
        match = message("PASSWORDS_MATCH") if repeat == password else message("PASSWORD_MISMATCH")
    return render(
        "_macros/password_rules.html",
        policy=policy,
        checks=policy.check(password) if password else None,
        match=match,
        matched=repeat == password,
        oob=True,
    )


@bp.route("/confirm-it-is-you", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_LOGIN_IP"), methods=["POST"])
@limiter.limit(
    setting("RATELIMIT_LOGIN_ACCOUNT"),
    key_func=logged_in_key,
    methods=["POST"],
    scope="reauthenticate-account",
)
@refunded_unless(failed, "reauthenticate-account")
@login_required
def reauthenticate():
    """ "Confirm it is you" (step-up, see stepup.py): the password again, or
    one of the account's passkeys (webapp/factors), then back to the page
    that asked for it. The same limits as the login page."""
    form = ReauthenticateForm()
    asked = form.next.data if form.is_submitted() else request.args.get("next")
    form.next.data = safe_next(asked, g.tenant.slug) or ""
    account = current_user._get_current_object()
    error = None
    if form.validate_on_submit():
        if confirm_password(
            g.tenant, account, current_login(), form.password.data, client_address()
        ):
            return redirect(form.next.data or url_for("account.home"), 303)
        error = message("REAUTHENTICATE_FAILED")
    failed = bool(error or form.errors)
    return render(
        "auth/reauthenticate.html",
        422 if failed else 200,
        form=form,
        error=error,
        passkey=g.settings.second_factor != "off" and has_passkey(account),
    )


@bp.route("/secure/<token>", methods=["GET", "POST"], endpoint="secure_account")
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
def secure_account_page(token: str):
    """ "This was not me", from a security email. Opening the link changes
    nothing (mail scanners open links): its button ends every login and
    every open link, undoes an email change, and mails a link to set a new
    password. Works logged in or not, in any browser."""
    form = LinkForm()
    if form.validate_on_submit():
        secured = secure_account(g.tenant, g.settings, token, client_address())
        if secured is None:
            return render("auth/link_invalid.html", 410, purpose="secure")
        account = secured.account
        if current_user.is_authenticated and current_user.id == account.id:
            logout_user()  # this browser's login has just ended with the others
            session.clear()
        if secured.address_taken:
            return render("auth/secure_taken.html")
        return render("auth/secured.html", email=account.email)
    found = secure_link_account(g.tenant, token)
    if found is None:
        return render("auth/link_invalid.html", 410, purpose="secure")
    return render("auth/secure.html", form=form, restore_email=found.restore_email)

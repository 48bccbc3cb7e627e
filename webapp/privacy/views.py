"""The security and privacy page and its actions. Thin: the flows decide."""

from __future__ import annotations

import json

from flask import Response, abort, flash, g, redirect, session, url_for
from flask_login import current_user, login_required

from .. import audit
from ..accounts import SECURE_LINK_HOURS
from ..auth.forms import LinkForm
from ..auth.sessions import current_login, renew_session
from ..auth.stepup import recent_login_required
from ..extensions import limiter
from ..factors.flows import PasskeyRefused, authentication_options, check_passkey, passkeys_of
from ..factors.forms import ButtonForm, PasskeyForm
from ..factors.views import _challenge, _options, _refused
from ..htmx import hx_redirect, render, wants_fragment
from ..jobs import later
from ..limits import account_key, client_address, failed, logged_in_key, refunded_unless, setting
from ..messages import message
from . import bp
from .deletion import (
    DeletePasswordWrong,
    cancel_deletion,
    cancel_deletion_by_link,
    cancel_link_account,
    check_password,
    request_deletion,
)
from .devices import devices, end_other_session, end_other_sessions
from .email_change import confirm_email_change, email_change_page, request_email_change
from .export import collect
from .forms import ChangeEmailForm, DeleteAccountForm

# The WebAuthn challenge's purpose (factors/views.py keeps one per browser).
DELETE_CHALLENGE = "delete"


def _me():
    return current_user._get_current_object()


@bp.get("/")
@login_required
def home():
    """The "Security and privacy" page: sessions and devices, the email
    address, the ways to log in, connected apps, the download and deletion.
    `devices`, `account` and `form` (a CSRF-only form for the buttons) are
    what the sessions and email partials read."""
    return render(
        "privacy/home.html",
        account=current_user,
        devices=devices(current_user, current_login()),
        form=LinkForm(),
    )


@bp.post("/sessions/others")
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
@login_required
def end_others():
    """'Log out everywhere else': this browser stays logged in, with a fresh cookie."""
    if LinkForm().validate_on_submit():
        account = _me()
        end_other_sessions(account, current_login(), client_address())
        renew_session(account)
        flash(message("SESSIONS_ENDED"), "success")
    return redirect(url_for(".home"), 303)


@bp.post("/sessions/<int:login_id>/end")
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
@login_required
def end_session(login_id: int):
    """Log one other device out."""
    if LinkForm().validate_on_submit():
        if not end_other_session(_me(), login_id, current_login(), client_address()):
            abort(404)
        flash(message("SESSION_ENDED"), "success")
    return redirect(url_for(".home"), 303)


@bp.route("/email", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_EMAIL_IP"), methods=["POST"])
@limiter.limit(setting("RATELIMIT_EMAIL_ACCOUNT"), key_func=account_key, methods=["POST"])
@login_required
@recent_login_required
def change_email():
    """A new email address: a link to it confirms it. The same answer whether
    or not the address is another account's (see email_change.py)."""
    form = ChangeEmailForm()
    if form.validate_on_submit():
        if form.email.data == current_user.email:
            form.email.errors.append(message("EMAIL_SAME"))
        else:
            later(request_email_change, current_user.id, form.email.data, client_address())
            flash(message("EMAIL_CHANGE_SENT", email=form.email.data), "success")
            return redirect(url_for(".home"), 303)
    return render(
        "privacy/email.html",
        422 if form.errors else 200,
        form=form,
        account=current_user,
        undo_hours=SECURE_LINK_HOURS,
    )


@bp.route("/email/confirm/<token>", methods=["GET", "POST"], endpoint="confirm_email_change")
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
def confirm_email_change_link(token: str):
    """The link sent to the new address. Opening it changes nothing (mail
    scanners open links); its button makes the new address the login name.
    Works logged in or not, in any browser."""
    form = LinkForm()
    if form.validate_on_submit():
        account = confirm_email_change(g.tenant, g.settings, token, client_address())
        if account is None:
            return render("auth/link_invalid.html", 410, purpose="email_change")
        flash(message("EMAIL_CHANGED", email=account.email), "success")
        if current_user.is_authenticated and current_user.id == account.id:
            return redirect(url_for(".home"), 303)
        session["login_email"] = account.email
        return redirect(url_for("auth.login"), 303)
    new_email = email_change_page(g.tenant, token)
    if new_email is None:
        return render("auth/link_invalid.html", 410, purpose="email_change")
    return render("privacy/confirm_email.html", form=form, new_email=new_email)


@bp.get("/download.json")
@login_required
@recent_login_required
def download_json():
    """All we hold about the person, as a JSON file."""
    data = collect(g.tenant, current_user)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/json")
    filename = f"{g.tenant.slug}-my-data.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/download")
@login_required
@recent_login_required
def download_page():
    """The same data as a page to read (and print)."""
    data = collect(g.tenant, current_user)
    response = render("privacy/export.html", data=data, labels=audit.EVENT_NAMES)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/delete", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_LOGIN_IP"), methods=["POST"])
@limiter.limit(
    setting("RATELIMIT_LOGIN_ACCOUNT"),
    key_func=logged_in_key,
    methods=["POST"],
    scope="delete-account",
)
@refunded_unless(failed, "delete-account")
@login_required
@recent_login_required
def delete():
    """What deleting the account means, confirmed with the password (or, with
    JavaScript, a passkey: delete_passkey)."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        account = _me()
        try:
            check_password(g.tenant, account, form.password.data, client_address())
        except DeletePasswordWrong:
            form.password.errors.append(message("DELETE_PASSWORD_WRONG"))
        else:
            return _deletion_requested(account)
    return render(
        "privacy/delete.html",
        422 if form.errors else 200,
        form=form,
        has_passkey=bool(passkeys_of(_me())),
    )


def _deletion_requested(account):
    """Once the password or passkey has confirmed it: ask, say so, go home."""
    request_deletion(g.tenant, g.settings, account, current_login(), client_address())
    flash(message("DELETION_REQUESTED"), "info")
    location = url_for(".home")
    return hx_redirect(location) if wants_fragment() else redirect(location, 303)


@bp.post("/delete/passkey/options")
@limiter.limit(setting("RATELIMIT_LOGIN_IP"))
@login_required
@recent_login_required
def delete_passkey_options():
    """Options for confirming the deletion with one of the account's passkeys (JSON)."""
    if not ButtonForm().validate_on_submit():
        return _refused()
    options = authentication_options(g.settings, _me())
    return _options(DELETE_CHALLENGE, options, current_user.id)


@bp.post("/delete/passkey")
@limiter.limit(setting("RATELIMIT_LOGIN_IP"))
@login_required
@recent_login_required
def delete_passkey():
    """The deletion confirmed with a passkey (static/js/passkeys.js follows
    the HX-Redirect)."""
    form = PasskeyForm()
    challenge = _challenge(DELETE_CHALLENGE, current_user.id)
    if not form.validate_on_submit() or challenge is None:
        return _refused()
    account = _me()
    try:
        check_passkey(g.tenant, g.settings, form.credential.data, challenge, account=account)
    except PasskeyRefused:
        return _refused()
    return _deletion_requested(account)


@bp.post("/delete/cancel")
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
@login_required
def cancel_deletion_now():
    """The banner's 'Cancel the deletion' (logged in)."""
    if LinkForm().validate_on_submit() and cancel_deletion(g.tenant, _me(), client_address()):
        flash(message("DELETION_CANCELLED"), "success")
    return redirect(url_for(".home"), 303)


@bp.route("/delete/cancel/<token>", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
def cancel_deletion_link(token: str):
    """The emailed cancel link: a page with a button (mail scanners open links)."""
    form = LinkForm()
    if form.validate_on_submit():
        if cancel_deletion_by_link(g.tenant, token, client_address()) is None:
            return render("auth/link_invalid.html", 410, purpose="delete_cancel")
        flash(message("DELETION_CANCELLED"), "success")
        target = ".home" if current_user.is_authenticated else "auth.login"
        return redirect(url_for(target), 303)
    if cancel_link_account(g.tenant, token) is None:
        return render("auth/link_invalid.html", 410, purpose="delete_cancel")
    return render("privacy/cancel_deletion.html", form=form)

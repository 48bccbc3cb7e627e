"""The account page and its in-place changes."""

from __future__ import annotations

from flask import flash, g, redirect, url_for
from flask_login import current_user, login_required

from ..auth.sessions import current_login, renew_session
from ..auth.stepup import recent_login_required
from ..extensions import limiter
from ..htmx import render, wants_fragment
from ..limits import client_address, setting
from ..messages import message
from ..policy import format_phone
from ..tenants import current_settings
from . import bp
from .flows import WrongPassword, change_password, update_preferences
from .forms import ChangePasswordForm, PreferencesForm


def _preferences_form(**kwargs):
    return PreferencesForm(current_settings(), **kwargs)


@bp.get("/")
@login_required
def home():
    """The customer's details and choices."""
    account = current_user
    form = _preferences_form(obj=account)
    if "phone" in form and account.phone:
        form.phone.data = format_phone(account.phone)
    return render("account/home.html", account=account, form=form)


@bp.post("/preferences")
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
@login_required
def preferences():
    """Save the invoice and SMS choices: in place with htmx, or as a full POST."""
    form = _preferences_form()
    saved = False
    if form.validate_on_submit():
        choices = {name: f.data for name, f in form._fields.items() if name != "csrf_token"}
        update_preferences(current_user, choices, client_address())
        saved = True
        if "phone" in form and form.phone.data:
            form.phone.data = format_phone(form.phone.data)
    status = 422 if form.errors else 200
    if wants_fragment():
        return render("account/_preferences.html", status, form=form, saved=saved)
    if saved:
        flash(message("PREFERENCES_SAVED"), "success")
        return redirect(url_for(".home"), 303)
    return render("account/home.html", status, account=current_user, form=form)


@bp.route("/password", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"), methods=["POST"])
@login_required
@recent_login_required
def password():
    """Change the password; this session stays, every other one ends."""
    form = ChangePasswordForm(current_settings().password)
    if form.validate_on_submit():
        account = current_user._get_current_object()
        try:
            change_password(
                g.tenant,
                g.settings,
                account,
                form.current_password.data,
                form.password.data,
                client_address(),
                keep_login=current_login(),
            )
        except WrongPassword:
            form.current_password.errors.append(message("PASSWORD_CURRENT_WRONG"))
        else:
            renew_session(account)
            flash(message("PASSWORD_CHANGED"), "success")
            return redirect(url_for(".home"), 303)
    return render("account/password.html", 422 if form.errors else 200, form=form)

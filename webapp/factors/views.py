"""The security page (passkeys, authenticator app, recovery codes), the
passkey login and the second login step. Thin: forms check input, flows
decide. Passkey requests come from static/js/passkeys.js as form posts (with
the CSRF token) and are answered with JSON or an HX-Redirect."""

from __future__ import annotations

import ipaddress
import time

from flask import Response, current_app, flash, g, jsonify, redirect, request, session, url_for
from flask_login import current_user, login_required

from ..auth.sessions import (
    PENDING_KEY,
    abandon_pending_login,
    complete_login,
    current_login,
    finish_pending_login,
    pending_login,
    safe_next,
)
from ..auth.stepup import recent_login_required
from ..extensions import limiter
from ..htmx import hx_redirect, render, wants_fragment
from ..limits import client_address, failed, refunded_unless, setting
from ..messages import message
from . import bp
from .flows import (
    FactorNotFound,
    LastFactor,
    PasskeyRefused,
    WrongCode,
    authentication_options,
    authenticator,
    check_code,
    check_passkey,
    confirm_authenticator,
    confirm_with_passkey,
    factor_count,
    passkeys_of,
    registration_options,
    relying_party,
    remove_authenticator,
    remove_passkey,
    rename_passkey,
    renew_recovery_codes,
    start_authenticator,
    unused_recovery_codes,
)
from .flows import add_passkey as add_passkey_to
from .forms import ButtonForm, CodeForm, ConfirmAuthenticatorForm, PasskeyForm, RenamePasskeyForm

CHALLENGE_KEY = "webauthn"
CHALLENGE_SECONDS = 300
STEP = "second_factor"
# Set when a half-done login has set up its first factor, for "Continue".
SET_UP_KEY = "second_factor_set_up"


def passkey_problem() -> str | None:
    """Where passkeys work, when this page is not there: a WebAuthn relying
    party is a host name (never an IP address) and must be the host the page
    was opened at. None when passkeys can work here."""
    rp_id, origin = relying_party(g.settings)
    host = request.host.rsplit(":", 1)[0].strip("[]")
    try:
        ipaddress.ip_address(host)
        is_ip = True
    except ValueError:
        is_ip = False
    if is_ip or host != rp_id:
        return origin + request.full_path.removesuffix("?")
    return None


# Challenges: one at a time per browser, for one purpose, used once.


def _options(purpose: str, options: tuple[str, str], account_id: int | None = None) -> Response:
    options_json, challenge = options
    session[CHALLENGE_KEY] = {
        "purpose": purpose,
        "challenge": challenge,
        "account": account_id,
        "at": time.time(),
    }
    return current_app.response_class(options_json, mimetype="application/json")


def _challenge(purpose: str, account_id: int | None = None) -> str | None:
    stored = session.pop(CHALLENGE_KEY, None)
    if not isinstance(stored, dict) or stored.get("purpose") != purpose:
        return None
    if stored.get("account") != account_id:
        return None
    if not 0 <= time.time() - stored.get("at", 0) <= CHALLENGE_SECONDS:
        return None
    return stored.get("challenge")


def _refused() -> Response:
    response = jsonify(error=message("PASSKEY_FAILED"))
    response.status_code = 422
    return response


def _go(location: str) -> Response:
    return hx_redirect(location) if wants_fragment() else redirect(location, 303)


def _account():
    return current_user._get_current_object()


# The security page


@bp.get("/account/security")
@login_required
def security():
    """The person's ways to log in: passkeys, the authenticator app, recovery codes."""
    account = _account()
    return render(
        "factors/security.html",
        passkeys=passkeys_of(account),
        app=authenticator(account),
        codes_left=unused_recovery_codes(account),
        factors=factor_count(account),
        rename_form=RenamePasskeyForm(),
        button=ButtonForm(),
    )


@bp.post("/account/security/passkeys/options")
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
@login_required
def passkey_options():
    """Options for making a passkey (JSON, for passkeys.js)."""
    if not ButtonForm().validate_on_submit():
        return _refused()
    account = _account()
    return _options("register", registration_options(g.settings, account), account.id)


@bp.post("/account/security/passkeys")
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
@login_required
def add_passkey():
    """Keep the passkey the browser made."""
    account = _account()
    if not _keep_passkey(account):
        return _refused()
    flash(message("PASSKEY_ADDED"), "success")
    return _go(url_for(".security"))


def _keep_passkey(account) -> bool:
    """Keep the passkey the browser made for this account's challenge."""
    form = PasskeyForm()
    challenge = _challenge("register", account.id)
    if not form.validate_on_submit() or challenge is None:
        return False
    try:
        add_passkey_to(
            g.tenant, g.settings, account, form.credential.data, challenge, client_address()
        )
    except PasskeyRefused:
        return False
    return True


@bp.post("/account/security/passkeys/<int:passkey_id>/name")
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
@login_required
def rename(passkey_id: int):
    """Rename a passkey."""
    form = RenamePasskeyForm()
    if form.validate_on_submit():
        try:
            rename_passkey(_account(), passkey_id, form.name.data)
        except FactorNotFound:
            return render("errors/error.html", 404, code=404)
        flash(message("PASSKEY_RENAMED"), "success")
    else:
        flash(
            form.name.errors[0] if form.name.errors else message("PASSKEY_NAME_REQUIRED"), "error"
        )
    return redirect(url_for(".security"), 303)


@bp.post("/account/security/passkeys/<int:passkey_id>/remove")
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
@login_required
@recent_login_required
def remove(passkey_id: int):
    """Remove a passkey (the tenant's policy may keep the last factor)."""
    if ButtonForm().validate_on_submit():
        try:
            remove_passkey(g.tenant, g.settings, _account(), passkey_id, client_address())
        except FactorNotFound:
            return render("errors/error.html", 404, code=404)
        except LastFactor:
            flash(message("FACTOR_LAST", name=g.settings.name), "error")
        else:
            flash(message("PASSKEY_REMOVED"), "success")
    return redirect(url_for(".security"), 303)


@bp.route("/account/security/authenticator", methods=["GET", "POST"])
@limiter.limit(
    setting("RATELIMIT_CODE_ACCOUNT"),
    key_func=lambda: _code_key(),
    methods=["POST"],
    scope="code-account",
)
@refunded_unless(failed, "code-account")
@login_required
def set_up_authenticator():
    """Set up an authenticator app: the QR code and the key, then a code from it."""

    def done(codes):
        flash(message("AUTHENTICATOR_ADDED"), "success")
        if codes:
            return render("factors/recovery_codes.html", codes=codes, next_form=None)
        return redirect(url_for(".security"), 303)

    return _set_up_app(_account(), "factors/authenticator.html", done)


def _set_up_app(account, template: str, done):
    """The set-up form of an app on `template`; `done(codes)` answers once a
    code from it has confirmed it (codes: new recovery codes, or None)."""
    form = ConfirmAuthenticatorForm()
    if form.validate_on_submit():
        try:
            codes = confirm_authenticator(
                g.tenant, g.settings, account, form.code.data, client_address()
            )
        except WrongCode:
            form.code.errors.append(message("CODE_WRONG"))
        else:
            return done(codes)
    key, qr = start_authenticator(account)
    return render(template, 422 if form.errors else 200, form=form, key=key, qr=qr)


@bp.post("/account/security/authenticator/remove")
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
@login_required
@recent_login_required
def remove_app():
    """Remove the authenticator app."""
    if ButtonForm().validate_on_submit():
        try:
            remove_authenticator(g.tenant, g.settings, _account(), client_address())
        except FactorNotFound:
            pass
        except LastFactor:
            flash(message("FACTOR_LAST", name=g.settings.name), "error")
        else:
            flash(message("AUTHENTICATOR_REMOVED"), "success")
    return redirect(url_for(".security"), 303)


@bp.post("/account/security/recovery-codes")
@limiter.limit(setting("RATELIMIT_ACCOUNT_IP"))
@login_required
def recovery_codes():
    """Ten new recovery codes, shown once; the old ones stop working."""
    if ButtonForm().validate_on_submit():
        try:
            codes = renew_recovery_codes(g.tenant, _account(), client_address())
        except FactorNotFound:
            return redirect(url_for(".security"), 303)
        return render("factors/recovery_codes.html", codes=codes, next_form=None)
    return redirect(url_for(".security"), 303)


# "Confirm it is you" with a passkey (step-up: auth.reauthenticate's page)


@bp.post("/confirm-it-is-you/passkey/options")
@limiter.limit(setting("RATELIMIT_LOGIN_IP"))
@login_required
def reauthenticate_options():
    """Options for proving it is them with one of the account's passkeys (JSON)."""
    if not ButtonForm().validate_on_submit():
        return _refused()
    account = _account()
    return _options(
        "reauthenticate", authentication_options(g.settings, account, verify=True), account.id
    )


@bp.post("/confirm-it-is-you/passkey")
@limiter.limit(setting("RATELIMIT_LOGIN_IP"))
@login_required
def reauthenticate_passkey():
    """The login proved recent again with a passkey; back to the page that asked."""
    account = _account()
    form = PasskeyForm()
    challenge = _challenge("reauthenticate", account.id)
    if not form.validate_on_submit() or challenge is None:
        return _refused()
    try:
        confirm_with_passkey(
            g.tenant, g.settings, account, current_login(), form.credential.data, challenge
        )
    except PasskeyRefused:
        return _refused()
    return _go(safe_next(request.form.get("next"), g.tenant.slug) or url_for("account.home"))


# Logging in with a passkey


@bp.post("/passkey/options")
@limiter.limit(setting("RATELIMIT_LOGIN_IP"))
def login_options():
    """Options for a passwordless login (JSON): any passkey of this site."""
    if not ButtonForm().validate_on_submit():
        return _refused()
    return _options("login", authentication_options(g.settings))


@bp.post("/passkey/login")
@limiter.limit(setting("RATELIMIT_LOGIN_IP"))
def passkey_login():
    """Log in with the passkey the browser chose: the one door, method "passkey"."""
    form = PasskeyForm()
    challenge = _challenge("login")
    if not form.validate_on_submit() or challenge is None:
        return _refused()
    try:
        account, _ = check_passkey(g.tenant, g.settings, form.credential.data, challenge)
    except PasskeyRefused:
        return _refused()
    return complete_login(account, "passkey", next_url=request.form.get("next"))


# The second login step


def _code_key() -> str:
    """key_func: the half-done login's account (or the logged-in one)."""
    pending = session.get(PENDING_KEY) or {}
    who = pending.get("account") if isinstance(pending, dict) else None
    if who is None and current_user.is_authenticated:
        who = current_user.id
    return f"code:{g.tenant.slug}:{who}"


@bp.route("/login/second-factor", methods=["GET", "POST"])
@limiter.limit(setting("RATELIMIT_LOGIN_IP"), methods=["POST"])
@limiter.limit(
    setting("RATELIMIT_CODE_ACCOUNT"), key_func=_code_key, methods=["POST"], scope="code-account"
)
@refunded_unless(failed, "code-account")
def step():
    """The second step: a passkey, a code from the app or a recovery code; or,
    where the tenant requires a factor and the account has none, setting one up."""
    account = pending_login(STEP)
    if account is None:
        return abandon_pending_login()
    if factor_count(account) == 0:
        return _set_up_step(account)
    form = CodeForm()
    if form.validate_on_submit():
        try:
            amr = check_code(account, form.code.data)
        except WrongCode:
            form.code.errors.append(message("CODE_WRONG"))
        else:
            return finish_pending_login(STEP, amr=amr)
    return render(
        "factors/step.html",
        422 if form.errors else 200,
        form=form,
        has_passkey=bool(passkeys_of(account)),
        has_app=authenticator(account) is not None,
        button=ButtonForm(),
    )


def _set_up_step(account):
    def done(codes):
        session[SET_UP_KEY] = account.id
        return render("factors/recovery_codes.html", codes=codes, next_form=ButtonForm())

    return _set_up_app(account, "factors/set_up_step.html", done)


@bp.post("/login/second-factor/continue")
def step_continue():
    """After the first factor was set up in this login (and its codes shown)."""
    account = pending_login(STEP)
    if account is None or session.get(SET_UP_KEY) != account.id or not ButtonForm().validate():
        return abandon_pending_login()
    return finish_pending_login(STEP, amr=("otp", "mfa"))


@bp.post("/login/second-factor/passkey/options")
@limiter.limit(setting("RATELIMIT_LOGIN_IP"))
def step_options():
    """Options for the second step with one of the account's passkeys (JSON)."""
    account = pending_login(STEP)
    if account is None or not ButtonForm().validate_on_submit():
        return _refused()
    return _options("step", authentication_options(g.settings, account), account.id)


@bp.post("/login/second-factor/passkey")
@limiter.limit(setting("RATELIMIT_LOGIN_IP"))
def step_passkey():
    """The second step passed with a passkey."""
    account = pending_login(STEP)
    form = PasskeyForm()
    challenge = _challenge("step", account.id if account else None)
    if account is None or not form.validate_on_submit() or challenge is None:
        return _refused()
    try:
        check_passkey(g.tenant, g.settings, form.credential.data, challenge, account=account)
    except PasskeyRefused:
        return _refused()
    return finish_pending_login(STEP, amr=("hwk", "mfa"))


@bp.post("/login/second-factor/passkeys/options")
@limiter.limit(setting("RATELIMIT_LOGIN_IP"))
def step_enrol_options():
    """At the required set-up step: options for making the first factor a passkey."""
    account = pending_login(STEP)
    if account is None or factor_count(account) or not ButtonForm().validate_on_submit():
        return _refused()
    return _options("register", registration_options(g.settings, account), account.id)


@bp.post("/login/second-factor/passkeys")
@limiter.limit(setting("RATELIMIT_LOGIN_IP"))
def step_enrol():
    """The first factor made a passkey, which also passes the step: it was just
    made with the person verified on this device ("hwk"). Recovery codes can
    be made on the security page."""
    account = pending_login(STEP)
    if account is None or factor_count(account) or not _keep_passkey(account):
        return _refused()
    flash(message("PASSKEY_ADDED"), "success")
    return finish_pending_login(STEP, amr=("hwk", "mfa"))

"""Forms of the login and emailed-link pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, PasswordField

from ..forms import CURRENT_PASSWORD_KW, EMAIL_KW, Form, MaxLength, Required, strip
from ..forms import NewPasswordForm as NewPasswordForm  # the link pages' form
from ..policy import PASSWORD_CEILING


class LoginForm(Form):
    # Login checks presence only: the one generic failure message comes from the flow.
    email = EmailField(
        _l("Login name (email)"),
        filters=[strip],
        validators=[Required("EMAIL_REQUIRED"), MaxLength(254)],
        # "webauthn": the browser offers this site's passkeys as it autofills
        # (conditional mediation, static/js/passkeys.js).
        render_kw={**EMAIL_KW, "autocomplete": "username webauthn"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[Required("PASSWORD_REQUIRED"), MaxLength(PASSWORD_CEILING)],
        render_kw=CURRENT_PASSWORD_KW,
    )
    # The page to return to after login; checked by the view (sessions.safe_next),
    # never validated here, so a bad value is dropped instead of shown as an error.
    next = HiddenField()
    # "1": log in again although logged in (see the login view).
    reauth = HiddenField()


class EmailForm(Form):
    """Forgot password and 'send the confirmation again'."""

    email = EmailField(
        _l("Email address"),
        filters=[strip],
        validators=[Required("EMAIL_REQUIRED"), MaxLength(254)],
        render_kw={**EMAIL_KW, "autocomplete": "username"},
    )


class LinkForm(Form):
    """The button of an emailed link's page: nothing but its CSRF token."""


class ReauthenticateForm(Form):
    """ "Confirm it's you": the password again, and the page to return to."""

    password = PasswordField(
        _l("Password"),
        validators=[Required("PASSWORD_REQUIRED"), MaxLength(PASSWORD_CEILING)],
        render_kw=CURRENT_PASSWORD_KW,
    )
    next = HiddenField()

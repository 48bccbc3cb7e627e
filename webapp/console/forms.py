"""Forms of the console: login, the authenticator code, the new password,
and the customer search."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SearchField, StringField

from ..factors.forms import CODE_KW
from ..forms import CURRENT_PASSWORD_KW, EMAIL_KW, TEXT, Form, MaxLength, Required, strip
from ..policy import PASSWORD_CEILING


class StaffLoginForm(Form):
    # Presence only: the one generic failure message comes from the flow.
    email = EmailField(
        _l("Email address"),
        filters=[strip],
        validators=[Required("EMAIL_REQUIRED"), MaxLength(254)],
        render_kw={**EMAIL_KW, "autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[Required("PASSWORD_REQUIRED"), MaxLength(PASSWORD_CEILING)],
        render_kw=CURRENT_PASSWORD_KW,
    )


class StaffCodeForm(Form):
    """The second step, and the first code of an app being set up."""

    code = StringField(
        _l("Code from the app"),
        filters=[strip],
        validators=[Required("CODE_REQUIRED"), MaxLength(20)],
        render_kw={**CODE_KW, "inputmode": "numeric"},
    )


class SearchForm(Form):
    """The customer search: a GET form, so no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Search customers"),
        filters=[strip],
        validators=[MaxLength(100)],
        render_kw={**TEXT, "autocomplete": "off", "maxlength": 100},
    )

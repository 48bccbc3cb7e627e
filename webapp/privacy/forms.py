"""Forms of the security and privacy page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField

from ..forms import CURRENT_PASSWORD_KW, EMAIL_KW, Email, Form, MaxLength, Required, strip
from ..policy import PASSWORD_CEILING


class ChangeEmailForm(Form):
    # Named "email" so the per-address limit (limits.account_key) counts the
    # new address in every spelling.
    email = EmailField(
        _l("New email address"),
        filters=[strip],
        validators=[Required("EMAIL_REQUIRED"), MaxLength(254), Email()],
        render_kw=EMAIL_KW,
    )


class DeleteAccountForm(Form):
    password = PasswordField(
        _l("Your password"),
        validators=[Required("PASSWORD_REQUIRED"), MaxLength(PASSWORD_CEILING)],
        render_kw=CURRENT_PASSWORD_KW,
    )

"""Forms of the security page and the second login step."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, StringField

from ..forms import TEXT, Form, MaxLength, Required, strip
from .flows import PASSKEY_NAME_MAX

CODE_KW = {
    **TEXT,
    "autocomplete": "one-time-code",
    "autocapitalize": "none",
    "inputmode": "text",
}


class CodeForm(Form):
    """The second step: a code from the app or a recovery code, one field."""

    code = StringField(
        _l("Code"),
        filters=[strip],
        validators=[Required("CODE_REQUIRED"), MaxLength(40)],
        render_kw=CODE_KW,
    )


class ConfirmAuthenticatorForm(Form):
    """Setting up an app: the first code from it."""

    code = StringField(
        _l("Code from the app"),
        filters=[strip],
        validators=[Required("CODE_REQUIRED"), MaxLength(20)],
        render_kw={**CODE_KW, "inputmode": "numeric"},
    )


class PasskeyForm(Form):
    """What static/js/passkeys.js posts: the browser's answer as JSON."""

    credential = HiddenField(validators=[Required("PASSKEY_FAILED"), MaxLength(20_000)])


class RenamePasskeyForm(Form):
    name = StringField(
        _l("Name"),
        filters=[strip],
        validators=[Required("PASSKEY_NAME_REQUIRED"), MaxLength(PASSKEY_NAME_MAX)],
        render_kw=TEXT,
    )


class ButtonForm(Form):
    """A button that changes something: its CSRF token only."""

"""Forms of the account page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField

from ..forms import (
    CURRENT_PASSWORD_KW,
    PHONE_KW,
    ContactChoices,
    Form,
    MaxLength,
    NewPasswordForm,
    Required,
    strip,
)
from ..policy import PASSWORD_CEILING
from ..tenants import TenantSettings


class PreferencesForm(ContactChoices, Form):
    invoices_by_email = BooleanField(_l("Receive invoices by email"))
    sms_consent = BooleanField(_l("Accept SMS messages"))
    phone = StringField(_l("Phone number"), filters=[strip], render_kw=PHONE_KW)

    def __init__(self, settings: TenantSettings, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.drop_unasked(settings)


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[Required("PASSWORD_CURRENT_REQUIRED"), MaxLength(PASSWORD_CEILING)],
        render_kw=CURRENT_PASSWORD_KW,
    )

"""Forms of the account page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import StopValidation

from ..auth.forms import NewPasswordForm
from ..forms import CURRENT_PASSWORD_KW, PHONE_KW, Form, MaxLength, Required, strip
from ..messages import message
from ..policy import PASSWORD_CEILING, normalise_phone
from ..tenants import TenantSettings


class PreferencesForm(Form):
    invoices_by_email = BooleanField(_l("Receive invoices by email"))
    sms_consent = BooleanField(_l("Accept SMS messages"))
    phone = StringField(_l("Phone number"), filters=[strip], render_kw=PHONE_KW)

    def __init__(self, settings: TenantSettings, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.settings = settings
        if not settings.invoices_by_email:
            del self.invoices_by_email
        if not settings.sms or settings.phone == "off":
            del self.sms_consent
        if settings.phone == "off":
            del self.phone

    def validate_phone(self, field):
        if not field.data:
            if self.settings.phone == "required":
                raise StopValidation(message("PHONE_REQUIRED"))
            if "sms_consent" in self and self.sms_consent.data:
                raise StopValidation(message("PHONE_NEEDED_FOR_SMS"))
            field.data = None
            return
        normalised = normalise_phone(field.data)
        if normalised is None:
            raise StopValidation(message("PHONE_INVALID"))
        field.data = normalised


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[Required("PASSWORD_CURRENT_REQUIRED"), MaxLength(PASSWORD_CEILING)],
        render_kw=CURRENT_PASSWORD_KW,
    )

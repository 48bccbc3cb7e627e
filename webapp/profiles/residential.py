"""The residential profile (MOKESTA): the password chosen up front, the phone,
the invoice and SMS choices, and the site rules accepted."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, StringField

from ..forms import (
    EMAIL_KW,
    NEW_PASSWORD_KW,
    PHONE_KW,
    ContactChoices,
    Email,
    MaxLength,
    PasswordRules,
    Required,
    SameAs,
    strip,
)
from ..tenants import TenantSettings
from .base import Profile, RegistrationForm


class ResidentialRegistrationForm(ContactChoices, RegistrationForm):
    """MOKESTA's residential registration, with the password chosen up front."""

    email = EmailField(
        _l("Email address"),
        filters=[strip],
        validators=[Required("EMAIL_REQUIRED"), MaxLength(254), Email()],
        render_kw=EMAIL_KW,
    )
    password = PasswordField(_l("Password"), render_kw=NEW_PASSWORD_KW)
    password2 = PasswordField(
        _l("Repeat password"),
        validators=[Required("PASSWORD_REPEAT_REQUIRED"), SameAs("password")],
        render_kw=NEW_PASSWORD_KW,
    )
    phone = StringField(_l("Phone number"), filters=[strip], render_kw=PHONE_KW)
    invoices_by_email = BooleanField(_l("Receive invoices by email"))
    sms_consent = BooleanField(_l("Accept SMS messages"))
    terms = BooleanField(
        _l("I have read and agree to the site rules"), validators=[Required("TERMS_REQUIRED")]
    )

    def __init__(self, settings: TenantSettings, *args, **kwargs):
        super().__init__(settings, *args, **kwargs)
        self.password.validators = [Required("PASSWORD_REQUIRED"), PasswordRules(settings.password)]
        self.drop_unasked(settings)


class ResidentialProfile(Profile):
    name = "residential"
    form_class = ResidentialRegistrationForm
    form_template = "registration/_residential.html"
    sent_text = _l(
        "Open the link in it to confirm your registration, then log in with your "
        "email and password."
    )
    defaults = {"phone": "optional", "invoices_by_email": True, "sms": True}

    def account_fields(self, settings, data) -> dict:
        return {
            **super().account_fields(settings, data),
            "phone": data.phone,
            "invoices_by_email": data.invoices_by_email,
            "sms_consent": data.sms_consent,
            "terms_version": settings.terms_version,
            "terms_language": data.language,
        }

    def event_data(self, account) -> dict:
        return {
            "invoices_by_email": account.invoices_by_email,
            "sms_consent": account.sms_consent,
        }


PROFILE = ResidentialProfile()

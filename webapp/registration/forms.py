"""One registration form class per profile, built from the tenant's settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation, ValidationError

from ..forms import (
    EMAIL_KW,
    NAME_KW,
    NEW_PASSWORD_KW,
    PHONE_KW,
    ContactChoices,
    Email,
    Form,
    MaxLength,
    PasswordRules,
    PersonName,
    Required,
    SameAs,
    collapse_spaces,
    strip,
)
from ..messages import message
from ..policy import (
    COMPANY_CODE_RE,
    company_code_checksum_ok,
    normalise_company_code,
    normalise_contract_number,
)
from ..tenants import TenantSettings
from .flows import contract_is_active

YES, NO = "yes", "no"


class _Registration(Form):
    """Fields both profiles share; `settings` is the tenant's."""

    first_name = StringField(
        _l("First name"),
        filters=[collapse_spaces],
        validators=[Required("FIRST_NAME_REQUIRED"), MaxLength(100), PersonName()],
        render_kw={"autocomplete": "given-name", **NAME_KW},
    )
    last_name = StringField(
        _l("Last name"),
        filters=[collapse_spaces],
        validators=[Required("LAST_NAME_REQUIRED"), MaxLength(100), PersonName()],
        render_kw={"autocomplete": "family-name", **NAME_KW},
    )

    def __init__(self, settings: TenantSettings, *args, **kwargs):
        self.settings = settings
        super().__init__(*args, **kwargs)


class BusinessRegistrationForm(_Registration):
    """Elektrum's business registration: the password is created from the link."""

    company_code = StringField(
        _l("Company code"),
        filters=[strip],
        validators=[Required("COMPANY_CODE_REQUIRED"), MaxLength(30)],
        render_kw={"autocomplete": "off", "inputmode": "numeric", "spellcheck": "false"},
    )
    email = EmailField(
        _l("Email"),
        filters=[strip],
        validators=[Required("EMAIL_REQUIRED"), MaxLength(254), Email()],
        render_kw=EMAIL_KW,
    )
    is_customer = RadioField(
        choices=[SelectChoice(YES, _l("Yes")), SelectChoice(NO, _l("No"))], validate_choice=False
    )
    contract_number = StringField(
        _l("Contract number"),
        filters=[strip],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )

    def __init__(self, settings: TenantSettings, *args, **kwargs):
        super().__init__(settings, *args, **kwargs)
        self.is_customer.label.text = _l(
            "Are you an existing %(name)s customer?", name=settings.name
        )

    @property
    def customer(self) -> bool | None:
        return {YES: True, NO: False}.get(self.is_customer.data)

    def validate_company_code(self, field):
        code = normalise_company_code(field.data)
        if not COMPANY_CODE_RE.fullmatch(code):
            raise StopValidation(message("COMPANY_CODE_FORMAT"))
        if not company_code_checksum_ok(code):
            raise StopValidation(message("COMPANY_CODE_CHECKSUM"))
        field.data = code

    def validate_is_customer(self, field):
        if field.data not in (YES, NO):
            raise StopValidation(message("CUSTOMER_REQUIRED", name=self.settings.name))

    def validate_contract_number(self, field):
        """Needed, and checked, only from a customer; a non-customer's is ignored."""
        if self.customer is not True:
            field.data = None
            return
        number = normalise_contract_number(field.data)
        if not number:
            raise StopValidation(message("CONTRACT_REQUIRED"))
        contract = self.settings.contract
        if len(number) > 40 or not contract.matches(number):
            raise StopValidation(message("CONTRACT_FORMAT", example=contract.example))
        field.data = number
        if contract.registry:
            code = normalise_company_code(self.company_code.data or "")
            if company_code_checksum_ok(code) and not contract_is_active(
                self.settings.slug, number, code
            ):
                raise ValidationError(message("CONTRACT_NOT_FOUND"))


class ResidentialRegistrationForm(ContactChoices, _Registration):
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


def registration_form(settings: TenantSettings, **kwargs):
    form_class = BusinessRegistrationForm if settings.is_business else ResidentialRegistrationForm
    return form_class(settings, **kwargs)

"""The business profile (Elektrum): company code, "are you our customer?" and
the contract number; the password is created from the emailed link."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation, ValidationError

from ..contracts import contract_is_active
from ..forms import EMAIL_KW, Email, MaxLength, Required, strip
from ..messages import message
from ..policy import (
    COMPANY_CODE_RE,
    company_code_checksum_ok,
    normalise_company_code,
)
from ..tenants import TenantSettings
from .base import Profile, RegistrationForm, contract_number

YES, NO = "yes", "no"


class BusinessRegistrationForm(RegistrationForm):
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
        number = field.data = contract_number(self.settings, field.data)
        if self.settings.contract.registry:
            code = normalise_company_code(self.company_code.data or "")
            if company_code_checksum_ok(code) and not contract_is_active(
                self.settings.slug, number, code
            ):
                raise ValidationError(message("CONTRACT_NOT_FOUND"))


class BusinessProfile(Profile):
    name = "business"
    form_class = BusinessRegistrationForm
    form_template = "registration/_business.html"
    account_template = "account/_business.html"
    sent_text = _l(
        "Open the registration confirmation link in it: on the page that opens, "
        "create your password."
    )
    needs_contract = True

    def account_fields(self, settings, data) -> dict:
        return {
            **super().account_fields(settings, data),
            "company_code": data.company_code,
            "is_customer": data.is_customer,
            "contract_number": data.contract_number if data.is_customer else None,
        }

    def event_data(self, account) -> dict:
        return {"company_code": account.company_code, "contract_number": account.contract_number}


PROFILE = BusinessProfile()

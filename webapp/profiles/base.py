"""What every registration profile has: the `Profile` it is, and the form
fields every profile's registration starts with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import StopValidation

from ..forms import NAME_KW, Form, MaxLength, PersonName, Required, collapse_spaces
from ..messages import message
from ..policy import normalise_contract_number

if TYPE_CHECKING:
    from ..registration.flows import Registration
    from ..tenants import TenantSettings


class RegistrationForm(Form):
    """Fields every profile's registration shares; `settings` is the tenant's."""

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


def contract_number(settings: TenantSettings, value: str | None) -> str:
    """A typed contract number as stored, if it has the tenant's format
    ([contract] in the tenants file); StopValidation with the reason if not."""
    number = normalise_contract_number(value)
    if not number:
        raise StopValidation(message("CONTRACT_REQUIRED"))
    contract = settings.contract
    if len(number) > 40 or not contract.matches(number):
        raise StopValidation(message("CONTRACT_FORMAT", example=contract.example))
    return number


class Profile:
    """One kind of registration. A subclass sets the class attributes and
    extends `account_fields`; its module defines `PROFILE = TheProfile()`."""

    name: ClassVar[str]
    # The registration form (a RegistrationForm), built from the tenant's settings.
    form_class: ClassVar[type[RegistrationForm]]
    # The form's fields on the registration page (inside its <form>).
    form_template: ClassVar[str]
    # The profile's part of "Your details" on the account page, if it has one.
    account_template: ClassVar[str | None] = None
    # What the "check your email" page says the link leads to.
    sent_text: ClassVar[Any]
    # The tenant settings the profile reads, with their defaults for it: the
    # tenants file's registration.phone, .invoices_by_email and .sms ...
    defaults: ClassVar[dict[str, Any]] = {"phone": "off", "invoices_by_email": False, "sms": False}
    # ... and whether the tenant must describe its contract numbers ([contract]).
    needs_contract: ClassVar[bool] = False

    def form(self, settings: TenantSettings, **kwargs) -> RegistrationForm:
        return self.form_class(settings, **kwargs)

    def account_fields(self, settings: TenantSettings, data: Registration) -> dict:
        """The account's columns as this registration sets them: every column a
        registration of any profile writes (a profile overrides its own), so
        taking over an account leaves nothing of the earlier registration (not
        its phone, not its consents)."""
        return {
            "first_name": data.first_name,
            "last_name": data.last_name,
            "language": data.language,
            "password_hash": data.password_hash,
            "company_code": None,
            "is_customer": None,
            "contract_number": None,
            "phone": None,
            "invoices_by_email": False,
            "sms_consent": False,
            "terms_version": None,
            "terms_language": None,
        }

    def event_data(self, account) -> dict:
        """What the account.registered webhook tells the utility of this
        profile's fields (README, "Webhooks"), besides the account itself."""
        return {}

    def __repr__(self) -> str:
        return f"<Profile {self.name}>"

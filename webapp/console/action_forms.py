"""Forms of the console's actions: every one asks for the reason (kept in the
audit log); the details, factor, registry and webhook forms add their fields.
Shape only: the flows (actions.py, registry.py, webapp/webhooks.py) decide."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import NAME_KW, PHONE_KW, TEXT, Form, MaxLength, Required, strip
from .actions import REASON_MAX


class ReasonForm(Form):
    reason = TextAreaField(
        _l("Reason"),
        filters=[strip],
        validators=[Required("CONSOLE_REASON_REQUIRED"), MaxLength(REASON_MAX)],
        render_kw={"rows": 2, "maxlength": REASON_MAX},
    )


class DetailsForm(ReasonForm):
    first_name = StringField(
        _l("First name"), filters=[strip], validators=[MaxLength(100)], render_kw=NAME_KW
    )
    last_name = StringField(
        _l("Last name"), filters=[strip], validators=[MaxLength(100)], render_kw=NAME_KW
    )
    phone = StringField(
        _l("Phone number"), filters=[strip], validators=[MaxLength(40)], render_kw=PHONE_KW
    )
    contract_number = StringField(
        _l("Contract number"), filters=[strip], validators=[MaxLength(60)], render_kw=TEXT
    )


class FactorForm(ReasonForm):
    # Any value is the flow's to refuse (a factor removed meanwhile, a forged one).
    factor = SelectField(_l("Way to log in"), choices=[], validate_choice=False)
    identity_checked = BooleanField(
        _l("I have checked the customer's identity"),
        validators=[Required("CONSOLE_IDENTITY_UNCHECKED")],
    )


class UploadForm(Form):
    """The registry file itself is read from request.files (the base Form
    reads request.form only)."""

    full_sync = BooleanField(
        _l("The file is the whole registry: end the contracts it does not list")
    )


class ApplyForm(Form):
    upload = HiddenField()
    digest = HiddenField()


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EndpointForm(Form):
    url = StringField(
        _l("Address (https://…)"),
        filters=[strip],
        validators=[Required("CONSOLE_WEBHOOK_URL_REQUIRED"), MaxLength(2000)],
        render_kw={**TEXT, "inputmode": "url", "autocomplete": "off"},
    )
    # Checked by webhooks.parse_types, whose refusal the page explains.
    types = CheckboxesField(
        _l("Events (none ticked: all of them)"), choices=[], validate_choice=False
    )


class ButtonForm(Form):
    """A button that changes something: its CSRF token only."""

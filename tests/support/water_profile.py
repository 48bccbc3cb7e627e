"""A third registration profile, for the tests (tests/test_profiles.py): the
residential registration plus the contract number, as many water utilities ask
for it. The whole of a new profile: this module, its two templates, and the
line in webapp.profiles.MODULES that names it (the test adds that line)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField

from webapp.forms import strip
from webapp.profiles import contract_number
from webapp.profiles.residential import ResidentialProfile, ResidentialRegistrationForm


class WaterRegistrationForm(ResidentialRegistrationForm):
    contract_number = StringField(
        _l("Contract number"),
        filters=[strip],
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )

    def validate_contract_number(self, field):
        field.data = contract_number(self.settings, field.data)


class WaterProfile(ResidentialProfile):
    name = "water"
    form_class = WaterRegistrationForm
    form_template = "registration/_water.html"
    account_template = "account/_water.html"
    needs_contract = True

    def account_fields(self, settings, data) -> dict:
        return {**super().account_fields(settings, data), "contract_number": data.contract_number}


PROFILE = WaterProfile()

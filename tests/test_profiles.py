"""Registration profiles: a new one is a module and a line in the registry.
Proved with a third profile, a water utility's (tests/support/water_profile.py:
the residential registration plus the contract number), on a tenant of a
temporary tenants file, through the real pages."""

from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, FileSystemLoader
from support.apps import TENANTS_FILE
from support.data import VELZIO_OK
from support.forms import htmx_post, submit
from support.mail import link_in, outbox
from support.people import account, confirm, login
from support.texts import expected, gettext_in

from webapp import profiles
from webapp.tenants import TenantDataError, load_tenants

SUPPORT = Path(__file__).parent / "support"

# The demo residential tenant, as a water utility that asks for the contract number.
WATER_TENANT = """
[[tenants]]
slug = "vandenys"
name = "UAB Vandenys"
product_name = "Vandenys savitarna"
profile = "water"

[tenants.contract]
pattern = '^V[0-9]{6}$'
example = "V123456"

[tenants.terms]
version = "2026-01"
text.lt = "Taisyklės."
"""

WATER_OK = {**VELZIO_OK, "contract_number": "v 123456"}


def load(app, tmp_path) -> None:
    path = tmp_path / "tenants.toml"
    path.write_text(TENANTS_FILE.read_text(encoding="utf-8") + WATER_TENANT, encoding="utf-8")
    with app.app_context():
        load_tenants(path)


@pytest.fixture
def water(app, tmp_path, monkeypatch):
    """The water profile registered (its module named in the registry), its
    templates found, and its tenant loaded from a temporary tenants file."""
    monkeypatch.setitem(profiles.MODULES, "water", "support.water_profile")
    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(SUPPORT / "templates")])
    load(app, tmp_path)
    return app


def test_a_profile_the_registry_does_not_name_is_refused(app, tmp_path):
    with pytest.raises(TenantDataError, match="profile must be one of business, residential"):
        load(app, tmp_path)


def test_a_third_profile_registers_confirms_and_shows_its_details(water, client):
    app = water
    page = client.get("/vandenys/register").get_data(as_text=True)
    assert 'name="contract_number"' in page
    assert 'name="password"' in page and 'name="company_code"' not in page

    missing = submit(client, "/vandenys/register", {**WATER_OK, "contract_number": ""})
    assert missing.status_code == 422
    assert expected(app, "CONTRACT_REQUIRED") in missing.get_data(as_text=True)
    wrong = submit(client, "/vandenys/register", {**WATER_OK, "contract_number": "4100012345"})
    assert wrong.status_code == 422
    assert expected(app, "CONTRACT_FORMAT", example="V123456") in wrong.get_data(as_text=True)

    response = submit(client, "/vandenys/register", WATER_OK)
    assert response.status_code == 303
    sent = client.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        gettext_in(
            app,
            "Open the link in it to confirm your registration, "
            "then log in with your email and password.",
        )
        in sent
    )
    stored = account(app, "vandenys", "ona@example.com")
    assert stored.contract_number == "V123456"
    assert stored.terms_version == "2026-01" and stored.phone == "+37061234567"
    assert stored.company_code is None and stored.email_confirmed_at is None

    [message] = outbox(app, "ona@example.com")
    assert message.kind == "confirm"
    assert confirm(client, link_in(message, "/vandenys/confirm/")).status_code == 303
    assert login(client, "vandenys", "ona@example.com", "Slapta123").status_code == 303
    home = client.get("/vandenys/account/").get_data(as_text=True)
    assert gettext_in(app, "Contract number") in home and "V123456" in home
    assert gettext_in(app, "Company code") not in home


def test_the_live_check_uses_the_profiles_own_rules(water, client):
    answer = htmx_post(
        client,
        "/vandenys/register/check/contract_number",
        {"contract_number": "123"},
        "/vandenys/register",
    )
    assert answer.status_code == 422
    assert expected(water, "CONTRACT_FORMAT", example="V123456") in answer.get_data(as_text=True)
    # No customer toggle in this profile: its page is not there.
    toggle = htmx_post(client, "/vandenys/register/customer", {}, "/vandenys/register")
    assert toggle.status_code == 404

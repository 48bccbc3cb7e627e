"""Business (Elektrum) registration: company code, customer toggle, contract
registry, then the password created from the emailed activation link."""

import pytest
from support.data import ELEKTRUM_OK
from support.factors import set_up_on_step
from support.forms import submit
from support.mail import link_in, outbox
from support.people import account, login, logout, register_elektrum
from support.texts import expected, gettext_in


def post(client, **changes):
    data = {key: value for key, value in {**ELEKTRUM_OK, **changes}.items() if value is not None}
    return submit(client, "/elektrum/register", data)


def assert_refused(response, app, key, **params):
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert expected(app, key, **params) in html
    assert outbox(app) == []
    assert account(app, "elektrum", ELEKTRUM_OK["email"]) is None


@pytest.mark.parametrize("code", ["110053842", "302477747", "110 053 842"])
def test_valid_company_codes_register(client, app, code):
    contract = {"110053842": "4100012345", "302477747": "4100012346"}[code.replace(" ", "")]
    response = post(client, company_code=code, contract_number=contract)
    assert response.status_code == 303
    assert account(app, "elektrum", "jonas@example.com").company_code == code.replace(" ", "")


@pytest.mark.parametrize("code", ["11005384", "1100538420", "ABCDEFGHI", "110-053-842"])
def test_company_code_that_is_not_nine_digits(client, app, code):
    assert_refused(post(client, company_code=code), app, "COMPANY_CODE_FORMAT")


def test_company_code_with_wrong_check_digit(client, app):
    assert_refused(post(client, company_code="110053843"), app, "COMPANY_CODE_CHECKSUM")


def test_company_code_required(client, app):
    assert_refused(post(client, company_code=""), app, "COMPANY_CODE_REQUIRED")


def test_customer_must_give_a_contract_number(client, app):
    assert_refused(post(client, contract_number=""), app, "CONTRACT_REQUIRED")


def test_contract_number_format(client, app):
    assert_refused(
        post(client, contract_number="41-0001"), app, "CONTRACT_FORMAT", example="4100012345"
    )


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("4100055555", "110053842"),  # not in the registry
        ("4100099999", "110053842"),  # in the registry, but ended
        ("4100012346", "110053842"),  # active, but another company's (302477747)
    ],
)
def test_contract_must_be_an_active_contract_of_that_company(client, app, number, code):
    assert_refused(
        post(client, contract_number=number, company_code=code), app, "CONTRACT_NOT_FOUND"
    )


def test_not_a_customer_needs_no_contract_and_none_is_stored(client, app):
    response = post(client, is_customer="no", contract_number="garbage")
    assert response.status_code == 303
    stored = account(app, "elektrum", "jonas@example.com")
    assert stored.is_customer is False
    assert stored.contract_number is None


def test_customer_choice_is_required(client, app):
    response = post(client, is_customer=None)
    assert_refused(response, app, "CUSTOMER_REQUIRED", name="Elektrum")
    assert 'href="#is_customer-0"' in response.get_data(as_text=True)


def test_unknown_customer_choice_is_refused(client, app):
    assert_refused(post(client, is_customer="maybe"), app, "CUSTOMER_REQUIRED", name="Elektrum")


def test_registration_activation_and_account_page(client, app):
    response = post(client)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/elektrum/register/sent")
    sent = client.get("/elektrum/register/sent")
    assert sent.status_code == 200
    assert "jonas@example.com" in sent.get_data(as_text=True)

    stored = account(app, "elektrum", "jonas@example.com")
    assert stored.password_hash is None and stored.email_confirmed_at is None
    assert stored.is_customer is True and stored.contract_number == "4100012345"

    [message] = outbox(app, "jonas@example.com")
    assert message.kind == "activate"
    link = link_in(message, "/elektrum/activate/")
    page = client.get(link)
    assert page.status_code == 200
    assert gettext_in(app, "Create your password") in page.get_data(as_text=True)

    refused = submit(client, link, {"password": "Slapta123!", "password2": "Slapta123!"})
    assert refused.status_code == 422
    assert expected(
        app, "PASSWORD_FORBIDDEN_CHARACTER", char="!", symbols="_ @ # $ % & * ( )"
    ) in refused.get_data(as_text=True)
    assert account(app, "elektrum", "jonas@example.com").password_hash is None

    done = submit(client, link, {"password": "Slapta_123", "password2": "Slapta_123"})
    assert done.status_code == 303
    # Elektrum requires a second factor: set up before the account page.
    assert done.headers["Location"].endswith("/elektrum/login/second-factor")
    assert expected(app, "PASSWORD_SAVED") in client.get(done.headers["Location"]).get_data(
        as_text=True
    )
    done = set_up_on_step(client, app, "elektrum", "jonas@example.com")
    assert done.headers["Location"].endswith("/elektrum/account/")
    home = client.get("/elektrum/account/").get_data(as_text=True)
    assert "110053842" in home and "4100012345" in home
    assert account(app, "elektrum", "jonas@example.com").email_confirmed_at is not None

    saved_hash = account(app, "elektrum", "jonas@example.com").password_hash
    used = client.get(link)
    assert used.status_code == 410
    assert gettext_in(app, "Send a new link") in used.get_data(as_text=True)
    again = submit(
        client,
        "/elektrum/account/password",
        {"password": "Kitas_123", "password2": "Kitas_123"},
        action=link,
    )
    assert again.status_code == 410
    assert account(app, "elektrum", "jonas@example.com").password_hash == saved_hash


def test_activated_business_customer_logs_in(client, app):
    register_elektrum(client, app, password="Verslas#2026")
    assert logout(client, "elektrum").status_code == 303
    assert client.get("/elektrum/account/").status_code == 302
    assert login(client, "elektrum", "jonas@example.com", "Verslas#2026").status_code == 303
    assert "Jonas Jonaitis" in client.get("/elektrum/account/").get_data(as_text=True)


def test_unactivated_business_account_cannot_log_in(client, app):
    post(client)
    response = login(client, "elektrum", "jonas@example.com", "anything1A")
    assert response.status_code == 422
    assert expected(app, "LOGIN_FAILED") in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("password", "key", "params"),
    [
        ("Trump1", "PASSWORD_WEAK", None),
        ("slapta_123", "PASSWORD_WEAK", None),
        ("Slapta 123", "PASSWORD_FORBIDDEN_SPACE", {}),
    ],
)
def test_activation_password_policy(client, app, password, key, params):
    post(client)
    link = link_in(outbox(app, "jonas@example.com")[0], "/activate/")
    response = submit(client, link, {"password": password, "password2": password})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    if key == "PASSWORD_WEAK":
        assert expected(app, "PASSWORD_WEAK", rules="\x00").split("\x00")[0] in html
    else:
        assert expected(app, key, symbols="_ @ # $ % & * ( )", **params) in html
    assert account(app, "elektrum", "jonas@example.com").password_hash is None


def test_flow_stores_no_contract_for_a_non_customer(app, ctx):
    """The flow itself ignores a contract number of a non-customer, whatever
    the caller passes."""
    from support.apps import tenant

    from webapp.registration.flows import Registration, register_customer
    from webapp.tenants import settings_for

    elektrum = tenant("elektrum")
    data = Registration(
        first_name="Jonas",
        last_name="Jonaitis",
        email="jonas@example.com",
        language="lt",
        company_code="110053842",
        is_customer=False,
        contract_number="4100012345",
    )
    register_customer(elektrum, settings_for(elektrum), data)
    stored = account(app, "elektrum", "jonas@example.com")
    assert stored.is_customer is False and stored.contract_number is None
    assert [m.kind for m in outbox(app)] == ["activate"]

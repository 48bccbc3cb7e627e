"""The htmx live checks: one field's error line, the customer toggle and the
password checklist. Same validators as the full POST, same messages."""

import re

import pytest
from support.data import VELZIO_OK
from support.forms import htmx_post
from support.people import register_velzio
from support.texts import expected

ERROR_RE = re.compile(r'<p class="field-error" id="([a-z_0-9]+)-error"[^>]*>(.*?)</p>', re.S)


def check(client, slug, field, data, **headers):
    return htmx_post(
        client, f"/{slug}/register/check/{field}", data, f"/{slug}/register", **headers
    )


def fragment(response):
    html = response.get_data(as_text=True)
    match = ERROR_RE.search(html)
    assert match, html
    assert "<html" not in html  # a fragment, not a page
    return match.group(1), match.group(2)


@pytest.mark.parametrize(
    ("slug", "field", "data", "key", "params"),
    [
        ("velzio", "first_name", {"first_name": ""}, "FIRST_NAME_REQUIRED", {}),
        ("velzio", "email", {"email": "ona@"}, "EMAIL_INVALID", {}),
        ("velzio", "password", {"password": "short"}, "PASSWORD_WEAK", None),
        (
            "velzio",
            "password2",
            {"password": "Slapta123", "password2": "Slapta12"},
            "PASSWORD_MISMATCH",
            {},
        ),
        ("velzio", "phone", {"phone": "123"}, "PHONE_INVALID", {}),
        ("velzio", "phone", {"phone": "", "sms_consent": "y"}, "PHONE_NEEDED_FOR_SMS", {}),
        ("velzio", "terms", {}, "TERMS_REQUIRED", {}),
        ("elektrum", "company_code", {"company_code": "123"}, "COMPANY_CODE_FORMAT", {}),
        ("elektrum", "company_code", {"company_code": "110053843"}, "COMPANY_CODE_CHECKSUM", {}),
        ("elektrum", "contract_number", {"is_customer": "yes"}, "CONTRACT_REQUIRED", {}),
        (
            "elektrum",
            "contract_number",
            {"is_customer": "yes", "contract_number": "12"},
            "CONTRACT_FORMAT",
            {"example": "4100012345"},
        ),
        (
            "elektrum",
            "contract_number",
            {"is_customer": "yes", "contract_number": "4100099999", "company_code": "110053842"},
            "CONTRACT_NOT_FOUND",
            {},
        ),
        ("elektrum", "is_customer", {}, "CUSTOMER_REQUIRED", {"name": "Elektrum"}),
    ],
)
def test_invalid_value_gives_422_and_the_message(client, app, slug, field, data, key, params):
    response = check(client, slug, field, data)
    assert response.status_code == 422
    field_id, text = fragment(response)
    assert field_id == field
    if params is None:
        assert expected(app, key, rules="\x00").split("\x00")[0] in text
    else:
        assert expected(app, key, **params) in text
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("slug", "field", "data"),
    [
        ("velzio", "first_name", {"first_name": "Ona"}),
        ("velzio", "email", {"email": "ona@example.com"}),
        ("velzio", "password", {"password": "Slapta123"}),
        ("velzio", "password2", {"password": "Slapta123", "password2": "Slapta123"}),
        ("velzio", "phone", {"phone": "+370 612 34567"}),
        ("velzio", "phone", {"phone": ""}),
        ("elektrum", "company_code", {"company_code": "110 053 842"}),
        ("elektrum", "contract_number", {"is_customer": "no", "contract_number": "x"}),
        (
            "elektrum",
            "contract_number",
            {"is_customer": "yes", "contract_number": "4100012345", "company_code": "110053842"},
        ),
    ],
)
def test_valid_value_gives_200_and_an_empty_error_line(client, slug, field, data):
    response = check(client, slug, field, data)
    assert response.status_code == 200
    field_id, text = fragment(response)
    assert field_id == field and text.strip() == ""
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("field", ["nonsense", "csrf_token", "password"])
def test_unknown_field_is_404(client, field):
    # Elektrum's form has no password field: the password is set from the link.
    assert check(client, "elektrum", field, {}).status_code == 404


def test_without_csrf_token_is_400(client):
    response = client.post(
        "/velzio/register/check/email", data={"email": "ona@"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400


def test_registered_email_gets_the_same_answer_as_a_new_one(client, app):
    register_velzio(client, app)
    known = check(app.test_client(), "velzio", "email", {"email": VELZIO_OK["email"]})
    new = check(app.test_client(), "velzio", "email", {"email": "new@example.com"})
    assert known.status_code == new.status_code == 200
    assert known.get_data() == new.get_data()
    assert _without_counters(known.headers) == _without_counters(new.headers)


def _without_counters(headers) -> dict:
    # The rate-limit counters count this address's requests, whatever the email;
    # the request id is new for every request, whatever the email.
    return {
        k: v for k, v in headers.items() if not k.startswith("X-RateLimit-") and k != "X-Request-ID"
    }


@pytest.mark.parametrize("choice", ["yes", "no"])
def test_customer_toggle_returns_the_contract_region(client, app, choice):
    response = htmx_post(
        client, "/elektrum/register/customer", {"is_customer": choice}, "/elektrum/register"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="contract-region" data-state="{choice}"' in html
    assert 'id="contract_number"' in html
    assert "<html" not in html
    # The "choose yes or no" error is cleared out of band.
    assert 'id="is_customer-error" hx-swap-oob="true"' in html
    assert ('aria-required="true"' in html) is (choice == "yes")


def test_customer_toggle_is_for_business_tenants_only(client):
    response = htmx_post(
        client, "/velzio/register/customer", {"is_customer": "yes"}, "/velzio/register"
    )
    assert response.status_code == 404


RULE_RE = re.compile(r'<li class="rule (rule--met|rule--unmet)">.*?</span>(.*?)</li>', re.S)


def rules(client, slug, data):
    response = htmx_post(client, f"/{slug}/password-rules", data, f"/{slug}/register")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return html, [(state, text) for state, text in RULE_RE.findall(html)]


def test_password_checklist_marks_each_rule(client, app):
    from flask_babel import force_locale, gettext, ngettext

    html, found = rules(client, "velzio", {"password": "slapta1"})
    with app.test_request_context("/"), force_locale("lt"):
        texts = [
            ngettext("at least %(num)d character", "at least %(num)d characters", 8),
            ngettext("at most %(num)d character", "at most %(num)d characters", 16),
            gettext("an upper-case letter"),
            gettext("a lower-case letter"),
            gettext("a digit"),
            gettext("not one of the most common passwords"),
        ]
    assert found == [
        ("rule--unmet", texts[0]),
        ("rule--met", texts[1]),
        ("rule--unmet", texts[2]),
        ("rule--met", texts[3]),
        ("rule--met", texts[4]),
        ("rule--met", texts[5]),
    ]
    assert 'id="password-match"' in html

    _, found = rules(client, "velzio", {"password": "Slapta123"})
    assert [state for state, _ in found] == ["rule--met"] * 6

    # Meets every other rule, but is one of the most common passwords.
    _, found = rules(client, "velzio", {"password": "Password1"})
    assert [state for state, _ in found] == ["rule--met"] * 5 + ["rule--unmet"]


def test_password_checklist_symbols_rule(client):
    # The symbols rule comes just before the common-password rule.
    _, found = rules(client, "elektrum", {"password": "Slapta123!"})
    assert found[-2][0] == "rule--unmet"
    _, found = rules(client, "elektrum", {"password": "Slapta_123"})
    assert found[-2][0] == "rule--met"


def test_password_checklist_match_line(client, app):
    html, _ = rules(client, "velzio", {"password": "Slapta123", "password2": "Slapta12"})
    assert "match--no" in html and expected(app, "PASSWORD_MISMATCH") in html
    html, _ = rules(client, "velzio", {"password": "Slapta123", "password2": "Slapta123"})
    assert "match--ok" in html and expected(app, "PASSWORDS_MATCH") in html
    html, found = rules(client, "velzio", {})
    assert found == [] and expected(app, "PASSWORD_MISMATCH") not in html

"""Residential (MOKESTA) registration, confirmation and login, as a person with
JavaScript off would do it: full POSTs."""

from support.data import VELZIO_OK
from support.forms import submit
from support.mail import link_in, outbox
from support.people import account, confirm, login


def test_registration_confirmation_and_login(client, app):
    response = submit(client, "/velzio/register", VELZIO_OK)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/velzio/register/sent")

    stored = account(app, "velzio", "ona@example.com")
    assert stored.email_confirmed_at is None
    assert stored.phone == "+37061234567"
    assert stored.invoices_by_email is True and stored.sms_consent is False
    assert stored.terms_version == "2025-09" and stored.terms_language == "lt"
    assert stored.terms_accepted_at is not None
    assert stored.password_hash.startswith("$argon2id$")

    [message] = outbox(app, "ona@example.com")
    assert message.kind == "confirm"
    link = link_in(message, "/velzio/confirm/")
    assert account(app, "velzio", "ona@example.com").email_confirmed_at is None
    confirmed = confirm(client, link)
    assert confirmed.status_code == 303 and confirmed.headers["Location"].endswith("/velzio/")
    page = client.get("/velzio/").get_data(as_text=True)
    assert 'value="ona@example.com"' in page
    assert account(app, "velzio", "ona@example.com").email_confirmed_at is not None

    response = login(client, "velzio", "ona@example.com", "Slapta123")
    assert response.status_code == 303
    assert "Ona Onaitė" in client.get("/velzio/account/").get_data(as_text=True)


def test_invalid_post_keeps_input_except_passwords(client, app):
    data = {**VELZIO_OK, "email": "not-an-email", "terms": ""}
    response = submit(client, "/velzio/register", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Onaitė"' in html
    assert 'value="not-an-email"' in html
    assert "Slapta123" not in html
    assert outbox(app) == []


# --- rules of the residential form ------------------------------------------

import pytest  # noqa: E402
from support.forms import title_of  # noqa: E402
from support.people import register_velzio  # noqa: E402
from support.texts import error_prefix, expected, gettext_in  # noqa: E402


def post(client, headers=None, **changes):
    data = {key: value for key, value in {**VELZIO_OK, **changes}.items() if value is not None}
    return submit(client, "/velzio/register", data, headers=headers)


def refused(response, app, key, **params):
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html
    assert expected(app, key, **params) in html
    assert account(app, "velzio", VELZIO_OK["email"]) is None
    assert outbox(app) == []
    return html


@pytest.mark.parametrize("password", ["Slapta12", "Slapta12345678ab"])
def test_password_lengths_at_the_limits_are_accepted(client, app, password):
    assert post(client, password=password, password2=password).status_code == 303


@pytest.mark.parametrize(
    "password",
    ["Slapta1", "Slapta123456789ab", "slapta123", "SLAPTA123", "Slaptazodis"],
)
def test_passwords_outside_the_policy_are_refused(client, app, password):
    response = post(client, password=password, password2=password)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert expected(app, "PASSWORD_WEAK", rules="\x00").split("\x00")[0] in html
    assert account(app, "velzio", "ona@example.com") is None


def test_seventeen_characters_names_the_maximum(client, app):
    from flask_babel import force_locale, ngettext

    response = post(client, password="Slapta123456789ab", password2="Slapta123456789ab")
    with app.test_request_context("/"), force_locale("lt"):
        rule = ngettext("at most %(num)d character", "at most %(num)d characters", 16)
    assert rule in response.get_data(as_text=True)


def test_password_mismatch(client, app):
    refused(post(client, password2="Slapta124"), app, "PASSWORD_MISMATCH")


def test_password_repeat_required(client, app):
    refused(post(client, password2=""), app, "PASSWORD_REPEAT_REQUIRED")


@pytest.mark.parametrize("phone", ["861234567", "061234567", "+370 612 34567"])
def test_phone_numbers_are_stored_in_one_form(client, app, phone):
    assert post(client, phone=phone).status_code == 303
    assert account(app, "velzio", "ona@example.com").phone == "+37061234567"


@pytest.mark.parametrize("phone", ["12345", "8612345678901", "telefonas"])
def test_invalid_phone(client, app, phone):
    refused(post(client, phone=phone), app, "PHONE_INVALID")


def test_phone_is_optional_without_sms(client, app):
    assert post(client, phone="").status_code == 303
    assert account(app, "velzio", "ona@example.com").phone is None


def test_sms_consent_needs_a_phone(client, app):
    refused(post(client, phone="", sms_consent="y"), app, "PHONE_NEEDED_FOR_SMS")


def test_sms_consent_with_phone_is_stored(client, app):
    assert post(client, sms_consent="y", invoices_by_email=None).status_code == 303
    stored = account(app, "velzio", "ona@example.com")
    assert stored.sms_consent is True and stored.invoices_by_email is False


def test_terms_are_required(client, app):
    refused(post(client, terms=None), app, "TERMS_REQUIRED")


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"first_name": ""}, "FIRST_NAME_REQUIRED"),
        ({"last_name": "   "}, "LAST_NAME_REQUIRED"),
        ({"first_name": "Ona<script>"}, "NAME_INVALID"),
        ({"email": ""}, "EMAIL_REQUIRED"),
        ({"email": "ona@"}, "EMAIL_INVALID"),
        ({"password": "", "password2": ""}, "PASSWORD_REQUIRED"),
        ({"first_name": "O" * 101}, "VALUE_TOO_LONG"),
    ],
)
def test_field_rules(client, app, changes, key):
    refused(post(client, **changes), app, key)


def test_language_from_accept_language_and_email_in_english(client, app):
    response = post(client, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert response.status_code == 303
    stored = account(app, "velzio", "ona@example.com")
    assert stored.language == "en" and stored.terms_language == "en"
    [message] = outbox(app)
    assert message.language == "en"
    assert message.subject == gettext_in(
        app, "Confirm your registration at %(product)s", "en", product="MOKESTA savitarna"
    )


def test_language_from_lang_parameter(client, app):
    client.get("/velzio/register?lang=en")  # remembered in a cookie
    response = submit(client, "/velzio/register?lang=en", VELZIO_OK, action="/velzio/register")
    assert response.status_code == 303
    assert account(app, "velzio", "ona@example.com").language == "en"
    assert outbox(app)[0].language == "en"


def test_default_language_is_lithuanian(client, app):
    post(client)
    assert account(app, "velzio", "ona@example.com").language == "lt"
    message = outbox(app)[0]
    assert message.language == "lt"
    assert message.subject == gettext_in(
        app, "Confirm your registration at %(product)s", "lt", product="MOKESTA savitarna"
    )


# --- the page after a POST with errors ---------------------------------------


def test_error_page_title_summary_and_kept_values(client, app):
    response = post(
        client, first_name="", email="ona@", phone="12", password2="Kitas1234", terms=None
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    title = title_of(html)
    assert title.startswith(error_prefix(app))
    assert gettext_in(app, "New user registration") in title
    assert 'id="error-summary"' in html
    for field_id, key in [
        ("first_name", "FIRST_NAME_REQUIRED"),
        ("email", "EMAIL_INVALID"),
        ("phone", "PHONE_INVALID"),
        ("password2", "PASSWORD_MISMATCH"),
        ("terms", "TERMS_REQUIRED"),
    ]:
        assert f'<a href="#{field_id}">{expected(app, key)}</a>' in html
        assert f'id="{field_id}-error"' in html
    assert 'value="ona@"' in html and 'value="12"' in html and 'value="Onaitė"' in html
    assert "Slapta123" not in html and "Kitas1234" not in html


def test_page_without_errors_has_plain_title(client, app):
    html = client.get("/velzio/register").get_data(as_text=True)
    assert not title_of(html).startswith(error_prefix(app))
    assert 'id="error-summary"' not in html


# --- an email that is already registered -------------------------------------


def test_registering_again_looks_the_same_and_tells_the_owner(client, app):
    register_velzio(client, app)
    newcomer = app.test_client()
    assert (
        submit(
            newcomer, "/velzio/register", {**VELZIO_OK, "email": "petras@example.com"}
        ).status_code
        == 303
    )
    first_sent = newcomer.get("/velzio/register/sent").get_data(as_text=True)
    first_sent = first_sent.replace("petras@example.com", "ona@example.com")

    other = app.test_client()
    response = submit(other, "/velzio/register", {**VELZIO_OK, "email": "ONA@Example.com"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/velzio/register/sent")
    again = other.get("/velzio/register/sent").get_data(as_text=True)
    assert again == first_sent

    assert "ona@example.com" in again
    messages = outbox(app, "ona@example.com")
    assert [m.kind for m in messages] == ["confirm", "already_registered"]
    from sqlalchemy import func, select

    from webapp.extensions import db
    from webapp.models import Account

    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(Account)) == 2
        )  # Ona's and Petras's


def test_email_is_stored_in_lower_case_and_login_ignores_case(client, app):
    assert post(client, email="Ona.Kazl@Example.COM").status_code == 303
    assert account(app, "velzio", "ona.kazl@example.com") is not None
    [message] = outbox(app, "ona.kazl@example.com")
    confirm(client, link_in(message, "/confirm/"))
    assert login(client, "velzio", "ONA.KAZL@example.com", "Slapta123").status_code == 303


def test_same_email_may_register_at_another_utility(client, app):
    register_velzio(client, app, email="jonas@example.com")
    response = submit(
        client,
        "/elektrum/register",
        {
            "first_name": "Jonas",
            "last_name": "Jonaitis",
            "company_code": "110053842",
            "email": "jonas@example.com",
            "is_customer": "no",
        },
    )
    assert response.status_code == 303
    assert [m.kind for m in outbox(app, "jonas@example.com")] == ["confirm", "activate"]


def test_a_most_common_password_is_refused_with_the_reason(client, app):
    data = {**VELZIO_OK, "password": "Password1", "password2": "Password1"}
    response = submit(client, "/velzio/register", data)
    assert response.status_code == 422
    assert expected(app, "PASSWORD_COMMON") in response.get_data(as_text=True)
    assert account(app, "velzio", VELZIO_OK["email"]) is None
    # Lithuanian favourites are on the list too.
    data = {**VELZIO_OK, "password": "Lietuva123", "password2": "Lietuva123"}
    assert submit(client, "/velzio/register", data).status_code == 422

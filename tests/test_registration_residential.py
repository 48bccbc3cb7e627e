"""Residential (MOKESTA) registration, confirmation and login, as a person with
JavaScript off would do it: full POSTs."""

from conftest import VELZIO_OK, account, link_in, login, outbox, submit


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
    confirmed = client.get(link_in(message, "/velzio/confirm/"))
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

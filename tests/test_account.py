"""The account page: invoice and SMS choices (full POST and htmx), password change."""

import re

from support.forms import htmx_post, submit
from support.mail import link_in, outbox
from support.people import account, login, register_velzio
from support.texts import expected


def logged_in(client, app, **changes):
    register_velzio(client, app, **changes)
    assert login(client, "velzio", "ona@example.com", "Slapta123").status_code == 303


def test_account_page_shows_details_and_choices(client, app):
    logged_in(client, app)
    html = client.get("/velzio/account/").get_data(as_text=True)
    assert "Ona Onaitė" in html and "ona@example.com" in html
    assert 'value="+370 612 34567"' in html
    assert checkbox(html, "invoices_by_email").startswith("<input checked ")
    assert not checkbox(html, "sms_consent").startswith("<input checked ")


def checkbox(html, name):
    match = re.search(rf'<input[^>]*id="{name}"[^>]*>', html)
    assert match, name
    return match.group(0)


def test_preferences_full_post(client, app):
    logged_in(client, app)
    response = submit(
        client,
        "/velzio/account/",
        {"sms_consent": "y", "phone": "+370 612 34568"},
        action="/velzio/account/preferences",
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/velzio/account/")
    assert expected(app, "PREFERENCES_SAVED") in client.get("/velzio/account/").get_data(
        as_text=True
    )
    stored = account(app, "velzio", "ona@example.com")
    assert stored.sms_consent is True
    assert stored.invoices_by_email is False  # unticked
    assert stored.phone == "+37061234568"


def test_preferences_htmx_fragment(client, app):
    logged_in(client, app)
    response = htmx_post(
        client,
        "/velzio/account/preferences",
        {"invoices_by_email": "y", "phone": "861234569"},
        "/velzio/account/",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and 'id="preferences"' in html
    assert expected(app, "PREFERENCES_SAVED") in html.split('class="save-status"')[1]
    assert 'value="+370 612 34569"' in html
    assert "HX-Request" in response.headers["Vary"]
    assert account(app, "velzio", "ona@example.com").phone == "+37061234569"


def test_sms_without_phone_is_refused(client, app):
    logged_in(client, app)
    full = submit(
        client,
        "/velzio/account/",
        {"sms_consent": "y", "phone": ""},
        action="/velzio/account/preferences",
    )
    assert full.status_code == 422
    assert expected(app, "PHONE_NEEDED_FOR_SMS") in full.get_data(as_text=True)

    fragment = htmx_post(
        client, "/velzio/account/preferences", {"sms_consent": "y", "phone": ""}, "/velzio/account/"
    )
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 422
    assert expected(app, "PHONE_NEEDED_FOR_SMS") in html
    assert expected(app, "PREFERENCES_SAVED") not in html
    stored = account(app, "velzio", "ona@example.com")
    assert stored.sms_consent is False and stored.phone == "+37061234567"


def test_invalid_phone_on_the_account_page(client, app):
    logged_in(client, app)
    response = htmx_post(client, "/velzio/account/preferences", {"phone": "12"}, "/velzio/account/")
    assert response.status_code == 422
    assert expected(app, "PHONE_INVALID") in response.get_data(as_text=True)


def test_preferences_need_login(client, app):
    assert client.get("/velzio/account/").status_code == 302
    response = client.post("/velzio/account/preferences", data={})
    assert response.status_code in (302, 400)
    assert client.get("/velzio/account/password").status_code == 302


def change(client, current, new, repeat=None):
    return submit(
        client,
        "/velzio/account/password",
        {"current_password": current, "password": new, "password2": repeat or new},
    )


def test_change_password_requires_the_current_one(client, app):
    logged_in(client, app)
    response = change(client, "Neteisingas1", "Naujas123")
    assert response.status_code == 422
    assert expected(app, "PASSWORD_CURRENT_WRONG") in response.get_data(as_text=True)
    assert [m.kind for m in outbox(app)] == ["confirm"]
    response = change(client, "", "Naujas123")
    assert expected(app, "PASSWORD_CURRENT_REQUIRED") in response.get_data(as_text=True)


def test_change_password_applies_the_policy(client, app):
    logged_in(client, app)
    response = change(client, "Slapta123", "naujas")
    assert response.status_code == 422
    response = change(client, "Slapta123", "Naujas123", "Naujas124")
    assert expected(app, "PASSWORD_MISMATCH") in response.get_data(as_text=True)


def test_change_password(client, app):
    logged_in(client, app)
    other_device = app.test_client()
    login(other_device, "velzio", "ona@example.com", "Slapta123")
    assert other_device.get("/velzio/account/").status_code == 200

    response = change(client, "Slapta123", "Naujas123")
    assert response.status_code == 303
    assert expected(app, "PASSWORD_CHANGED") in client.get("/velzio/account/").get_data(
        as_text=True
    )
    # This session stays; the other one ends.
    assert other_device.get("/velzio/account/").status_code == 302
    [message] = outbox(app, "ona@example.com")[-1:]
    assert message.kind == "password_changed"
    assert login(app.test_client(), "velzio", "ona@example.com", "Slapta123").status_code == 422
    assert login(app.test_client(), "velzio", "ona@example.com", "Naujas123").status_code == 303


def test_change_password_kills_open_reset_links(client, app):
    logged_in(client, app)
    submit(app.test_client(), "/velzio/forgot", {"email": "ona@example.com"})
    link = link_in(outbox(app, "ona@example.com")[-1], "/reset/")
    assert change(client, "Slapta123", "Naujas123").status_code == 303
    assert app.test_client().get(link).status_code == 410

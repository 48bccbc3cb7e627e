"""Login and logout: one message for every failure, sessions bound to a tenant
and ended for good at logout."""

from urllib.parse import urlsplit

from support.data import VELZIO_OK
from support.forms import submit, without_csrf
from support.mail import link_in, outbox
from support.people import Customer, confirm, login, register_velzio
from support.texts import expected


def test_wrong_password_and_unknown_email_look_identical(client, app):
    register_velzio(client, app)
    wrong = login(app.test_client(), "velzio", "ona@example.com", "Slapta124")
    unknown = login(app.test_client(), "velzio", "nobody@example.com", "Slapta124")
    assert wrong.status_code == unknown.status_code == 422
    wrong_html = wrong.get_data(as_text=True).replace("ona@example.com", "EMAIL")
    unknown_html = unknown.get_data(as_text=True).replace("nobody@example.com", "EMAIL")
    assert expected(app, "LOGIN_FAILED") in wrong_html
    # Only the CSRF token may differ (a new session each time).
    assert without_csrf(wrong_html) == without_csrf(unknown_html)


def test_unconfirmed_account_with_the_right_password(client, app):
    submit(client, "/velzio/register", VELZIO_OK)
    response = login(client, "velzio", "ona@example.com", "Slapta123")
    assert response.status_code == 422
    assert expected(app, "LOGIN_UNCONFIRMED") in response.get_data(as_text=True)
    assert client.get("/velzio/account/").status_code == 302


def test_unconfirmed_account_with_a_wrong_password_says_nothing_more(client, app):
    submit(client, "/velzio/register", VELZIO_OK)
    response = login(client, "velzio", "ona@example.com", "Slapta124")
    html = response.get_data(as_text=True)
    assert expected(app, "LOGIN_FAILED") in html
    assert expected(app, "LOGIN_UNCONFIRMED") not in html


def test_empty_fields(client, app):
    response = login(client, "velzio", "", "")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert expected(app, "EMAIL_REQUIRED") in html and expected(app, "PASSWORD_REQUIRED") in html


def test_success_then_logout(client, app):
    ona = Customer(client, app, "velzio")
    ona.register()
    response = ona.login()
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/velzio/account/")
    assert client.get("/velzio/account/").status_code == 200
    # The login page of a logged-in customer leads to the account.
    assert client.get("/velzio/").headers["Location"].endswith("/velzio/account/")

    stolen = client.get_cookie("savitarna_session").value
    out = ona.logout()
    assert out.status_code == 303 and out.headers["Location"].endswith("/velzio/")
    assert expected(app, "LOGGED_OUT") in client.get("/velzio/").get_data(as_text=True)

    after = client.get("/velzio/account/")
    assert after.status_code == 302
    assert after.headers["Location"] == "/velzio/?next=/velzio/account/"

    # The cookie copied before logout no longer works either (session epoch).
    thief = app.test_client()
    thief.set_cookie("savitarna_session", stolen)
    replay = thief.get("/velzio/account/")
    assert replay.status_code == 302
    assert urlsplit(replay.headers["Location"]).path == "/velzio/"


def test_session_is_bound_to_its_tenant(client, app):
    register_velzio(client, app)
    assert login(client, "velzio", "ona@example.com", "Slapta123").status_code == 303
    response = client.get("/elektrum/account/")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/elektrum/"
    assert client.get("/velzio/account/").status_code == 200


def test_account_at_one_tenant_cannot_log_in_at_another(client, app):
    register_velzio(client, app)
    response = login(client, "elektrum", "ona@example.com", "Slapta123")
    assert response.status_code == 422
    assert expected(app, "LOGIN_FAILED") in response.get_data(as_text=True)


def test_logout_needs_post_and_csrf(client, app):
    register_velzio(client, app)
    login(client, "velzio", "ona@example.com", "Slapta123")
    assert client.get("/velzio/logout").status_code == 405
    assert client.post("/velzio/logout").status_code == 400
    assert client.get("/velzio/account/").status_code == 200


def test_login_page_prefills_the_email_after_confirmation(client, app):
    submit(client, "/velzio/register", VELZIO_OK)
    confirm(client, link_in(outbox(app)[0], "/confirm/"))
    html = client.get("/velzio/").get_data(as_text=True)
    assert 'value="ona@example.com"' in html
    assert expected(app, "EMAIL_CONFIRMED") in html

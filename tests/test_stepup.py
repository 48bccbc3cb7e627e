"""Step-up (webapp/auth/stepup.py): changing the email or the password,
removing a way to log in and deleting the account ask a login older than the
tenant's `reauthenticate_after` to confirm it is them (the password, or a
passkey), then return to the page they were on."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support.authenticator import SoftAuthenticator, ask, enrol
from support.clock import Clock
from support.forms import csrf_from, submit
from support.people import Customer
from support.texts import expected, gettext_in

from webapp.extensions import db
from webapp.models import AuditEvent, LoginSession, Passkey, Tenant

CONFIRM = "/velzio/confirm-it-is-you"
EMAIL_PAGE = "/velzio/account/privacy/email"
PASSWORD_PAGE = "/velzio/account/password"
GUARDED_PAGES = (EMAIL_PAGE, PASSWORD_PAGE, "/velzio/account/privacy/delete")


@pytest.fixture
def ona(client, app):
    return Customer.logged_in(client, app)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def confirm_page(next_url: str) -> str:
    return f"{CONFIRM}?next={next_url}"


def reauthenticated_at(app, email: str):
    with app.app_context():
        login = db.session.scalars(
            select(LoginSession)
            .where(LoginSession.account.has(email=email))
            .order_by(LoginSession.id.desc())
        ).first()
        return login.reauthenticated_at


def test_a_fresh_login_goes_straight_to_the_guarded_pages(client, ona):
    for page in (EMAIL_PAGE, PASSWORD_PAGE):
        assert client.get(page).status_code == 200, page


@pytest.mark.parametrize("page", GUARDED_PAGES)
def test_an_old_login_is_asked_to_confirm_first(client, app, ona, clock, page):
    clock.advance(seconds=601)
    response = client.get(page)
    assert response.status_code == 303
    assert response.headers["Location"] == confirm_page(page)
    html = client.get(response.headers["Location"], headers={"Accept-Language": "lt"})
    assert html.status_code == 200
    text = html.get_data(as_text=True)
    assert gettext_in(app, "Confirm it is you") in text
    assert 'name="password"' in text
    assert f'name="next" type="hidden" value="{page}"' in text


def test_the_tenants_setting_says_how_old_is_too_old(client, app, clock):
    with app.app_context():
        velzio = db.session.scalar(select(Tenant).where(Tenant.slug == "velzio"))
        velzio.settings = {**velzio.settings, "reauthenticate_after": 120}
        db.session.commit()
    Customer.logged_in(client, app)
    clock.advance(seconds=100)
    assert client.get(EMAIL_PAGE).status_code == 200
    clock.advance(seconds=21)
    assert client.get(EMAIL_PAGE).status_code == 303


def test_the_password_makes_the_login_recent_and_returns_to_the_page(client, app, ona, clock):
    clock.advance(seconds=601)
    page = confirm_page(EMAIL_PAGE)
    answer = submit(client, page, {"password": ona.password, "next": EMAIL_PAGE})
    assert answer.status_code == 303
    assert answer.headers["Location"] == EMAIL_PAGE
    assert reauthenticated_at(app, ona.email) is not None
    assert client.get(EMAIL_PAGE).status_code == 200
    # Recent for `reauthenticate_after` seconds from the confirmation, no longer.
    clock.advance(seconds=601)
    assert client.get(EMAIL_PAGE).status_code == 303


def test_a_wrong_password_is_refused_and_recorded(client, app, ona, clock):
    clock.advance(seconds=601)
    answer = submit(client, confirm_page(EMAIL_PAGE), {"password": "Neteisingas1"})
    assert answer.status_code == 422
    assert expected(app, "REAUTHENTICATE_FAILED") in answer.get_data(as_text=True)
    assert reauthenticated_at(app, ona.email) is None
    assert client.get(EMAIL_PAGE).status_code == 303
    with app.app_context():
        failures = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "login_failed")
        ).all()
    assert len(failures) == 1


def test_an_empty_password_is_a_field_error(client, app, ona, clock):
    clock.advance(seconds=601)
    answer = submit(client, CONFIRM, {"password": ""})
    assert answer.status_code == 422
    assert expected(app, "PASSWORD_REQUIRED") in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/velzio/", "/elektrum/account/", ""]
)
def test_a_next_page_elsewhere_is_replaced_by_the_account_page(client, ona, clock, next_url):
    clock.advance(seconds=601)
    html = client.get(CONFIRM, query_string={"next": next_url}).get_data(as_text=True)
    answer = client.post(
        CONFIRM,
        data={"csrf_token": csrf_from(html), "password": ona.password, "next": next_url},
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/velzio/account/"


def test_a_post_from_an_old_login_returns_to_the_form_it_came_from(client, app, ona, clock):
    """Removing a passkey is a POST: nothing is removed, and after confirming
    the person is back on the security page to press the button again."""
    key = SoftAuthenticator()
    enrol(client, "velzio", key)
    with app.app_context():
        passkey_id = db.session.scalar(select(Passkey.id))
    clock.advance(seconds=601)
    page = client.get("/velzio/account/security").get_data(as_text=True)
    answer = client.post(
        f"/velzio/account/security/passkeys/{passkey_id}/remove",
        data={"csrf_token": csrf_from(page)},
        headers={"Referer": "http://localhost/velzio/account/security"},
    )
    assert answer.status_code == 303
    assert answer.headers["Location"] == confirm_page("/velzio/account/security")
    with app.app_context():
        assert db.session.scalar(select(Passkey.id)) == passkey_id


def test_htmx_is_sent_to_the_confirmation_with_hx_redirect(client, ona, clock):
    clock.advance(seconds=601)
    page = client.get("/velzio/account/security").get_data(as_text=True)
    answer = client.post(
        "/velzio/account/security/authenticator/remove",
        data={"csrf_token": csrf_from(page)},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 204
    assert answer.headers["HX-Redirect"].startswith(CONFIRM)


def test_the_confirmation_page_needs_a_login(client):
    answer = client.get(CONFIRM)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/velzio/?next=")


# With a passkey


def confirm_with(client, key: SoftAuthenticator, next_url: str = EMAIL_PAGE):
    return ask(
        client,
        confirm_page(next_url),
        f"{CONFIRM}/passkey/options",
        f"{CONFIRM}/passkey",
        key.get,
        next=next_url,
    )


def test_an_account_with_a_passkey_may_use_it_instead(client, app, ona, clock):
    key = SoftAuthenticator()
    enrol(client, "velzio", key)
    clock.advance(seconds=601)
    html = client.get(confirm_page(EMAIL_PAGE), headers={"Accept-Language": "lt"})
    text = html.get_data(as_text=True)
    assert 'data-passkey="reauthenticate"' in text
    # Passkeys need JavaScript, and the page says so; the password form stays.
    assert "<noscript>" in text and 'name="password"' in text
    answer = confirm_with(client, key)
    assert answer.status_code == 204
    assert answer.headers["HX-Redirect"] == EMAIL_PAGE
    assert reauthenticated_at(app, ona.email) is not None
    assert client.get(EMAIL_PAGE).status_code == 200


def test_a_passkey_that_did_not_check_the_person_is_refused(client, app, ona, clock):
    key = SoftAuthenticator()
    enrol(client, "velzio", key)
    key.verifies_user = False
    clock.advance(seconds=601)
    answer = confirm_with(client, key)
    assert answer.status_code == 422
    assert answer.get_json()["error"] == expected(app, "PASSKEY_FAILED")
    assert reauthenticated_at(app, ona.email) is None


def test_another_accounts_passkey_is_refused(client, app, ona, clock):
    other_browser = app.test_client()
    Customer.logged_in(other_browser, app, email="jonas@example.com")
    his_key = SoftAuthenticator()
    enrol(other_browser, "velzio", his_key)
    clock.advance(seconds=601)
    answer = confirm_with(client, his_key)
    assert answer.status_code == 422
    assert reauthenticated_at(app, ona.email) is None


def test_without_a_passkey_the_page_offers_none(client, ona, clock):
    clock.advance(seconds=601)
    text = client.get(confirm_page(EMAIL_PAGE)).get_data(as_text=True)
    assert "data-passkey" not in text

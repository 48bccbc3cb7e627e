"""Each login is a row (LoginSession): a logout ends that browser's login and
no other, a password change ends every other one, a cookie of an ended login
is refused, and the row says how and when the person logged in (auth_time and
amr, which the OpenID Connect id_token carries)."""

from __future__ import annotations

from sqlalchemy import select
from support.forms import submit
from support.people import Customer

from webapp.extensions import db
from webapp.models import LoginSession

PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/131.0 Mobile Safari/537.36"
LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"


def logins_of(app, email: str) -> list[LoginSession]:
    with app.app_context():
        return db.session.scalars(
            select(LoginSession)
            .join(LoginSession.account)
            .where(LoginSession.account.has(email=email))
            .order_by(LoginSession.id)
        ).all()


def logged_in(client, slug: str = "velzio") -> bool:
    return client.get(f"/{slug}/account/").status_code == 200


def two_browsers(app):
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = PHONE
    laptop = app.test_client()
    laptop.environ_base["HTTP_USER_AGENT"] = LAPTOP
    ona = Customer(phone, app, "velzio")
    ona.register()
    ona.login()
    Customer(laptop, app, "velzio").login()
    return ona, phone, laptop


def test_each_login_is_recorded_with_its_browser_and_method(app):
    ona, phone, laptop = two_browsers(app)
    rows = logins_of(app, ona.email)
    assert [row.user_agent for row in rows] == [PHONE, LAPTOP]
    assert all(row.amr == ["pwd"] and row.ended_at is None for row in rows)
    assert rows[0].authenticated_at <= rows[1].authenticated_at
    assert logged_in(phone) and logged_in(laptop)


def test_a_logout_ends_this_browser_only(app):
    ona, phone, laptop = two_browsers(app)
    stolen = phone.get_cookie("savitarna_session").value
    ona.logout()
    assert not logged_in(phone)
    assert logged_in(laptop)
    phone_row, laptop_row = logins_of(app, ona.email)
    assert phone_row.ended_at is not None and laptop_row.ended_at is None

    # The phone's cookie copied before the logout is worth nothing now.
    thief = app.test_client()
    thief.set_cookie("savitarna_session", stolen)
    assert not logged_in(thief)


def test_a_password_change_keeps_this_login_and_ends_the_others(app):
    ona, phone, laptop = two_browsers(app)
    new = "Naujas123"
    answer = submit(
        phone,
        "/velzio/account/password",
        {"current_password": ona.password, "password": new, "password2": new},
    )
    assert answer.status_code == 303
    assert logged_in(phone)
    assert not logged_in(laptop)
    phone_row, laptop_row = logins_of(app, ona.email)
    assert phone_row.ended_at is None and laptop_row.ended_at is not None


def test_a_session_without_its_login_row_is_refused(app, client):
    ona = Customer(client, app, "velzio")
    ona.register()
    ona.login()
    with client.session_transaction() as cookie:
        cookie["login"] = "made-up"
    assert not logged_in(client)

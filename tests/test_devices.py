"""Sessions and devices on the security and privacy page
(templates/privacy/_sessions.html, webapp/privacy/devices.py): the account's
logins as a person recognises them, this one marked, one ended, or all the
others ("log out everywhere else")."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from support.clock import Clock
from support.forms import csrf_from
from support.people import Customer
from support.texts import expected, gettext_in

from webapp.extensions import db
from webapp.models import AuditEvent, LoginSession
from webapp.privacy.devices import describe

HOME = "/velzio/account/privacy/"
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
)
LAPTOP = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
END_RE = re.compile(r'action="/velzio/account/privacy/sessions/(\d+)/end"')


def browser(app, user_agent: str | None):
    client = app.test_client()
    if user_agent:
        client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


@pytest.fixture
def phone(app):
    client = browser(app, PHONE)
    Customer.logged_in(client, app)
    return client


@pytest.fixture
def laptop(app, phone):
    client = browser(app, LAPTOP)
    Customer(client, app, "velzio").login()
    return client


def page(client) -> str:
    response = client.get(HOME, headers={"Accept-Language": "lt"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def logged_in(client) -> bool:
    return client.get("/velzio/account/").status_code == 200


def press(client, action: str):
    html = page(client)
    return client.post(action, data={"csrf_token": csrf_from(html)})


def sessions_ended(app) -> int:
    with app.app_context():
        return len(
            db.session.scalars(select(AuditEvent).where(AuditEvent.event == "sessions_ended")).all()
        )


def test_the_page_lists_each_browser_this_one_first_and_marked(app, phone, laptop, monkeypatch):
    Clock(monkeypatch).advance(minutes=5)
    html = page(phone)
    this_one = gettext_in(app, "%(browser)s on %(system)s", browser="Chrome", system="Android")
    other = gettext_in(app, "%(browser)s on %(system)s", browser="Firefox", system="Linux")
    assert html.index(this_one) < html.index(other)
    assert f"{this_one}</strong> <em>({gettext_in(app, 'this device')})</em>" in html
    # When, roughly, in the person's language.
    assert gettext_in(app, "active %(ago)s", ago="prieš 5 min.") in html
    assert gettext_in(app, "active %(ago)s", ago=gettext_in(app, "now")) in html
    # One "Log out" button, for the other browser; and "everywhere else".
    assert len(END_RE.findall(html)) == 1
    assert gettext_in(app, "Log out everywhere else") in html


def test_alone_there_is_nothing_else_to_log_out(app, phone):
    html = page(phone)
    assert END_RE.findall(html) == []
    assert gettext_in(app, "You are not logged in anywhere else.") in html
    assert "/velzio/account/privacy/sessions/others" not in html


def test_one_other_device_is_logged_out(app, phone, laptop):
    (login_id,) = END_RE.findall(page(phone))
    answer = press(phone, f"/velzio/account/privacy/sessions/{login_id}/end")
    assert answer.status_code == 303 and answer.headers["Location"] == HOME
    html = page(phone)
    assert expected(app, "SESSION_ENDED") in html
    assert END_RE.findall(html) == []
    assert logged_in(phone) and not logged_in(laptop)
    assert sessions_ended(app) == 1


def test_log_out_everywhere_else_keeps_this_browser_with_a_fresh_cookie(app, phone, laptop):
    tablet = browser(app, None)
    Customer(tablet, app, "velzio").login()
    old_cookie = phone.get_cookie("savitarna_session").value
    answer = press(phone, "/velzio/account/privacy/sessions/others")
    assert answer.status_code == 303 and answer.headers["Location"] == HOME
    assert expected(app, "SESSIONS_ENDED") in page(phone)
    assert logged_in(phone)
    assert not logged_in(laptop) and not logged_in(tablet)
    # The cookie this browser had before is worth nothing now (a copy of it).
    thief = app.test_client()
    thief.set_cookie("savitarna_session", old_cookie)
    assert not logged_in(thief)
    with app.app_context():
        live = db.session.scalars(select(LoginSession).where(LoginSession.ended_at.is_(None)))
        assert [login.user_agent for login in live] == [PHONE]
    assert sessions_ended(app) == 1


def test_only_ones_own_other_logins_can_be_ended(app, phone, laptop):
    jonas = browser(app, LAPTOP)
    Customer.logged_in(jonas, app, email="jonas@example.com")
    with app.app_context():
        his, mine = (
            db.session.scalar(select(LoginSession.id).where(LoginSession.account.has(email=email)))
            for email in ("jonas@example.com", "ona@example.com")
        )
    assert press(phone, f"/velzio/account/privacy/sessions/{his}/end").status_code == 404
    # This browser's own login: that is what "Log out" is for.
    assert press(phone, f"/velzio/account/privacy/sessions/{mine}/end").status_code == 404
    assert logged_in(jonas) and logged_in(phone) and logged_in(laptop)
    assert sessions_ended(app) == 0


def test_the_buttons_need_a_login(app):
    client = app.test_client()
    html = client.get("/velzio/").get_data(as_text=True)
    answer = client.post(
        "/velzio/account/privacy/sessions/others", data={"csrf_token": csrf_from(html)}
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/velzio/")


@pytest.mark.parametrize(
    ("user_agent", "named"),
    [
        (PHONE, ("Chrome", "Android")),
        (LAPTOP, ("Firefox", "Linux")),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            "Chrome/131.0 Safari/537.36 Edg/131.0",
            ("Edge", "Windows"),
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "Version/17.5 Mobile/15E148 Safari/604.1",
            ("Safari", "iOS"),
        ),
    ],
)
def test_browsers_are_named_as_people_know_them(app, user_agent, named):
    assert describe(user_agent) == named


def test_an_unknown_browser_says_so_in_the_persons_language(app):
    client = browser(app, None)
    Customer.logged_in(client, app)
    html = page(client)
    unknown = gettext_in(
        app,
        "%(browser)s on %(system)s",
        browser=gettext_in(app, "Unknown browser"),
        system=gettext_in(app, "unknown system"),
    )
    assert unknown in html

"""A new email address (webapp/privacy/email_change.py): a link to the new
address confirms it; the old address is told, with a link that undoes the
change for 72 hours; the page answers the same whether or not the new address
is another account's (that account's owner gets a notice instead)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support.clock import Clock
from support.forms import csrf_from, submit, without_csrf
from support.mail import link_in, outbox
from support.people import Customer, account, login
from support.texts import expected, gettext_in

from webapp.extensions import db
from webapp.models import AuditEvent

PAGE = "/velzio/account/privacy/email"
HOME = "/velzio/account/privacy/"
CONFIRM = "/velzio/account/privacy/email/confirm/"
NEW = "ona.nauja@example.com"


@pytest.fixture
def ona(client, app):
    return Customer.logged_in(client, app)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def ask_for(client, email: str):
    return submit(client, PAGE, {"email": email})


def confirm_link(app, to: str = NEW) -> str:
    message = outbox(app, to)[-1]
    assert message.kind == "email_change"
    return link_in(message, CONFIRM)


def confirmed(app, client, ona) -> str:
    """Ask for NEW and press the link's button; the undo link of the notice
    the old address gets."""
    ask_for(client, NEW)
    assert submit(client, confirm_link(app), {}).status_code == 303
    notice = outbox(app, ona.email)[-1]
    assert notice.kind == "email_changed"
    return link_in(notice, "/velzio/secure/")


def events(app, name: str) -> int:
    with app.app_context():
        return len(db.session.scalars(select(AuditEvent).where(AuditEvent.event == name)).all())


def test_the_page_shows_the_address_and_the_form(client, app, ona):
    page = client.get(PAGE, headers={"Accept-Language": "lt"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert (
        gettext_in(app, "You log in with %(email)s, and we write to it.", email=ona.email) in html
    )
    assert 'name="email"' in html


def test_a_link_to_the_new_address_changes_it(client, app, ona):
    answer = ask_for(client, NEW)
    assert answer.status_code == 303 and answer.headers["Location"] == HOME
    home = client.get(HOME).get_data(as_text=True)
    assert expected(app, "EMAIL_CHANGE_SENT", email=NEW) in home
    # Nothing changes before the link is used.
    assert ona.account().email == ona.email
    assert events(app, "email_change_requested") == 1
    link = confirm_link(app)

    # Opening the link changes nothing (mail scanners open links).
    page = app.test_client().get(link, headers={"Accept-Language": "lt"})
    assert page.status_code == 200
    assert NEW in page.get_data(as_text=True)
    assert ona.account().email == ona.email

    done = submit(client, link, {})
    assert done.status_code == 303 and done.headers["Location"] == HOME
    assert expected(app, "EMAIL_CHANGED", email=NEW) in client.get(HOME).get_data(as_text=True)
    changed = account(app, "velzio", NEW)
    assert changed.email == NEW and changed.email_confirmed_at is not None
    assert events(app, "email_changed") == 1
    # The old address is told, with the way back.
    notice = outbox(app, ona.email)[-1]
    assert notice.kind == "email_changed"
    assert NEW in notice.text_body
    link_in(notice, "/velzio/secure/")
    # From now on the new address is the login name.
    assert login(app.test_client(), "velzio", NEW, ona.password).status_code == 303
    assert login(app.test_client(), "velzio", ona.email, ona.password).status_code == 422
    # The link works once.
    assert app.test_client().get(link).status_code == 410


def test_the_link_works_in_a_browser_that_is_not_logged_in(client, app, ona):
    ask_for(client, NEW)
    other = app.test_client()
    done = submit(other, confirm_link(app), {})
    assert done.status_code == 303 and done.headers["Location"] == "/velzio/"
    assert f'value="{NEW}"' in other.get("/velzio/").get_data(as_text=True)


def test_undo_within_72_hours_restores_the_old_address(client, app, ona, clock):
    undo = confirmed(app, client, ona)
    clock.advance(hours=71)
    assert client.get("/velzio/account/").status_code == 200
    page = app.test_client().get(undo, headers={"Accept-Language": "lt"})
    assert page.status_code == 200
    assert ona.email in page.get_data(as_text=True)
    secured = submit(app.test_client(), undo, {})
    assert secured.status_code == 200
    restored = ona.account()
    assert restored.email == ona.email
    # Logged out everywhere; the new password's link goes to the old address only.
    assert client.get("/velzio/account/").status_code != 200
    assert outbox(app, ona.email)[-1].kind == "reset"
    assert [m.kind for m in outbox(app, NEW)] == ["email_change"]
    assert events(app, "account_secured") == 1


def test_undo_is_refused_after_72_hours(client, app, ona, clock):
    undo = confirmed(app, client, ona)
    clock.advance(hours=73)
    refused = app.test_client().get(undo)
    assert refused.status_code == 410
    assert submit_blind(app, undo).status_code == 410
    assert account(app, "velzio", NEW) is not None
    assert ona.account() is None


def test_undo_when_the_old_address_is_taken_still_logs_everyone_out(client, app, ona):
    """Someone registered the old address meanwhile: it cannot come back, and
    no reset link goes to the new one (it may be whoever changed it), but
    every login and link ends."""
    undo = confirmed(app, client, ona)
    Customer(app.test_client(), app, "velzio", email=ona.email).register()
    assert client.get("/velzio/account/").status_code == 200
    answer = submit(app.test_client(), undo, {})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert gettext_in(app, "We could not change your email address back") in html
    assert account(app, "velzio", NEW) is not None
    assert client.get("/velzio/account/").status_code != 200
    assert [m.kind for m in outbox(app, NEW)] == ["email_change"]
    assert events(app, "account_secured") == 1


def submit_blind(app, link: str):
    """Press a button whose page did not open (a stale tab): a fresh CSRF token."""
    client = app.test_client()
    html = client.get("/velzio/forgot").get_data(as_text=True)
    return client.post(link, data={"csrf_token": csrf_from(html)})


def test_the_confirmation_link_expires(client, app, ona, clock):
    ask_for(client, NEW)
    link = confirm_link(app)
    clock.advance(hours=25)
    assert app.test_client().get(link).status_code == 410
    assert submit_blind(app, link).status_code == 410
    assert ona.account().email == ona.email


def test_a_newer_request_ends_the_older_link(client, app, ona):
    ask_for(client, NEW)
    first = confirm_link(app)
    ask_for(client, "ona.kita@example.com")
    assert app.test_client().get(first).status_code == 410
    assert submit_blind(app, first).status_code == 410
    assert ona.account().email == ona.email


def test_an_address_already_taken_gets_a_notice_and_the_same_answer(client, app, ona):
    jonas = Customer(app.test_client(), app, "velzio", email="jonas@example.com")
    jonas.register()
    free = ask_for(client, NEW)
    free_page = client.get(HOME).get_data(as_text=True)
    taken = ask_for(client, jonas.email)
    taken_page = client.get(HOME).get_data(as_text=True)
    assert free.status_code == taken.status_code == 303
    assert free.headers["Location"] == taken.headers["Location"]
    assert without_csrf(free_page).replace(NEW, "X") == without_csrf(taken_page).replace(
        jonas.email, "X"
    )
    # Jonas is told someone tried; no link to take his address goes anywhere.
    notice = outbox(app, jonas.email)[-1]
    assert notice.kind == "email_taken"
    assert CONFIRM not in notice.text_body
    assert ona.account().email == ona.email


def test_an_address_taken_before_the_link_is_used_is_refused(client, app, ona):
    ask_for(client, NEW)
    link = confirm_link(app)
    Customer(app.test_client(), app, "velzio", email=NEW).register()
    assert submit(client, link, {}).status_code == 410
    assert ona.account().email == ona.email


def test_the_same_address_is_a_field_error(client, app, ona):
    answer = ask_for(client, ona.email.upper())
    assert answer.status_code == 422
    assert expected(app, "EMAIL_SAME") in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("value", "key"), [("", "EMAIL_REQUIRED"), ("ne-adresas", "EMAIL_INVALID")]
)
def test_a_wrong_address_is_a_field_error(client, app, ona, value, key):
    answer = ask_for(client, value)
    assert answer.status_code == 422
    assert expected(app, key) in answer.get_data(as_text=True)
    assert outbox(app, NEW) == []


def test_another_tenants_address_refuses_the_link(client, app, ona):
    ask_for(client, NEW)
    link = confirm_link(app)
    elsewhere = link.replace("/velzio/", "/elektrum/")
    assert app.test_client().get(elsewhere).status_code == 410
    assert submit_blind(app, elsewhere).status_code == 410
    assert ona.account().email == ona.email
    # The right tenant's link still works afterwards.
    assert submit(client, link, {}).status_code == 303


def test_the_page_needs_a_login(client):
    answer = client.get(PAGE)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/velzio/?next=")

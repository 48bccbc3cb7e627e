"""'This was not me' (auth.secure_account): every security email links to it.
Opening the link changes nothing; its button ends every login on every
device and every open link, and mails a link to set a new password."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support.authenticator import SoftAuthenticator, enrol
from support.clock import Clock
from support.forms import submit
from support.mail import link_in, outbox
from support.people import Customer
from support.texts import gettext_in

from webapp.extensions import db
from webapp.models import AuditEvent, LoginSession, Token

NEW_PASSWORD = "Naujas123"


@pytest.fixture
def ona(client, app):
    return Customer.logged_in(client, app)


def logged_in(client) -> bool:
    return client.get("/velzio/account/").status_code == 200


def change_password(client, ona) -> str:
    """Change the password on the account page; the "this was not me" link
    of the email that tells the owner."""
    answer = submit(
        client,
        "/velzio/account/password",
        {"current_password": ona.password, "password": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert answer.status_code == 303
    told = outbox(client.application, ona.email)[-1]
    assert told.kind == "password_changed"
    return link_in(told, "/velzio/secure/")


def open_links(app, email: str) -> list[str]:
    with app.app_context():
        return sorted(
            db.session.scalars(
                select(Token.purpose).where(Token.account.has(email=email), Token.used_at.is_(None))
            )
        )


def test_opening_the_link_changes_nothing(client, app, ona):
    link = change_password(client, ona)
    page = app.test_client().get(link, headers={"Accept-Language": "lt"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert gettext_in(app, "This was not me") in html
    assert gettext_in(app, "Secure my account") in html
    assert logged_in(client)
    assert open_links(app, ona.email) == ["secure"]


def test_the_button_logs_out_everywhere_ends_links_and_sends_a_reset_link(client, app, ona):
    link = change_password(client, ona)
    laptop = app.test_client()
    Customer(laptop, app, "velzio").login(NEW_PASSWORD)
    assert logged_in(laptop)
    # A reset link asked for meanwhile (perhaps by whoever changed the password).
    submit(app.test_client(), "/velzio/forgot", {"email": ona.email})
    assert "reset" in open_links(app, ona.email)

    answer = submit(client, link, {})
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert gettext_in(app, "Your account is secured") in html
    assert ona.email in html
    assert not logged_in(client) and not logged_in(laptop)
    with app.app_context():
        ended = db.session.scalars(select(LoginSession.ended_at)).all()
        secured = db.session.scalars(
            select(AuditEvent).where(AuditEvent.event == "account_secured")
        ).all()
    assert len(ended) == 2 and all(ended)
    assert len(secured) == 1

    # Only the new reset link is open; the one asked for before is dead.
    mails = outbox(app, ona.email)
    reset_links = [link_in(m, "/velzio/reset/") for m in mails if m.kind == "reset"]
    assert len(reset_links) == 2
    assert app.test_client().get(reset_links[0]).status_code == 410
    assert open_links(app, ona.email) == ["reset"]
    chosen = "Visainaujas1"
    done = submit(app.test_client(), reset_links[1], {"password": chosen, "password2": chosen})
    assert done.status_code == 303


def test_the_link_works_once(client, app, ona):
    link = change_password(client, ona)
    assert submit(app.test_client(), link, {}).status_code == 200
    again = app.test_client().get(link)
    assert again.status_code == 410
    assert gettext_in(app, "This link no longer works") in again.get_data(as_text=True)


def test_the_link_expires_after_72_hours(client, app, ona, monkeypatch):
    link = change_password(client, ona)
    clock = Clock(monkeypatch)
    clock.advance(hours=71)
    assert app.test_client().get(link).status_code == 200
    clock.advance(hours=2)
    assert app.test_client().get(link).status_code == 410


def test_another_tenants_address_refuses_the_link(client, app, ona):
    link = change_password(client, ona)
    elsewhere = link.replace("/velzio/", "/elektrum/")
    assert app.test_client().get(elsewhere).status_code == 410
    assert logged_in(client)


def test_a_made_up_link_is_refused(client, app):
    assert client.get("/velzio/secure/not-a-token").status_code == 410


def test_factor_emails_link_here(client, app, ona):
    enrol(client, "velzio", SoftAuthenticator())
    told = outbox(app, ona.email)[-1]
    assert told.kind == "factor_added"
    link = link_in(told, "/velzio/secure/")
    assert "/forgot" not in told.text_body
    assert "/velzio/secure/" in told.html_body
    assert app.test_client().get(link).status_code == 200

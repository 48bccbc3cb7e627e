"""Deleting an account: asked for with the password (or a passkey), an email
with a cancel link, the banner after login, cancelling by the link or by the
banner's button, and the purge once the tenant's grace period is over (a
clock moved by hand), which keeps only anonymised audit rows, emits
account.deleted, frees the address for a new registration and refuses the
old login."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from support.apps import tenant
from support.authenticator import SoftAuthenticator, ask, enrol
from support.clock import Clock
from support.factors import add_authenticator
from support.forms import csrf_from, submit
from support.mail import outbox
from support.oidc import add_client
from support.people import Customer
from support.privacy import DELETION_MAIL, ask_deletion, cancel_by_banner, cancel_link, page
from support.texts import expected, gettext_in

from webapp import jobs
from webapp.extensions import db
from webapp.models import (
    Account,
    AuditEvent,
    Job,
    LoginSession,
    Passkey,
    RecoveryCode,
    Token,
    TotpFactor,
    WebhookDelivery,
    WebhookEndpoint,
)
from webapp.oidc.models import Client, Consent, OAuthToken, Subject
from webapp.privacy.deletion import purge_account
from webapp.tenants import settings_for

GRACE_DAYS = 14  # data/tenants.toml: velzio's deletion_grace_days


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def ona(client, app, clock):
    person = Customer(client, app, "velzio")
    person.register()
    person.login()
    return person


def stored(app, account_id: int) -> Account:
    with app.app_context():
        found = db.session.get(Account, account_id)
        db.session.expunge_all()
        return found


def count(app, model, account_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(model).where(model.account_id == account_id)
        )


def run_worker(app) -> tuple[int, int]:
    with app.app_context():
        return jobs.run_due()


def test_the_page_explains_what_happens(client, app, ona):
    html = client.get(page("velzio", "delete")).get_data(as_text=True)
    assert gettext_in(app, "What is removed") in html
    assert gettext_in(app, "What is kept, without your details") in html
    with app.test_request_context("/"):
        from flask_babel import force_locale, ngettext

        with force_locale("lt"):
            grace = ngettext(
                "Your account is deleted %(num)d day after you ask. Until then you can change "
                "your mind: we email you a link that keeps the account, and the page after you "
                "log in offers the same.",
                "Your account is deleted %(num)d days after you ask. Until then you can change "
                "your mind: we email you a link that keeps the account, and the page after you "
                "log in offers the same.",
                GRACE_DAYS,
            )
    assert grace in html and "14" in grace


def test_a_wrong_password_deletes_nothing(client, app, ona):
    response = ask_deletion(client, "velzio", "Neteisingas1")
    assert response.status_code == 422
    assert expected(app, "DELETE_PASSWORD_WRONG") in response.get_data(as_text=True)
    account = ona.account()
    assert account.deletion_due_at is None
    assert [m for m in outbox(app, ona.email) if m.kind == DELETION_MAIL] == []
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent.event).where(AuditEvent.account_id == account.id)
        ).all()
    assert "login_failed" in events and "deletion_requested" not in events


def test_asking_mails_a_cancel_link_and_shows_the_banner(client, app, ona, clock):
    response = ask_deletion(client, "velzio", ona.password)
    assert response.status_code == 303
    assert response.headers["Location"] == page("velzio")
    account = ona.account()
    assert account.deletion_due_at == clock.now + timedelta(days=GRACE_DAYS)
    mail = [m for m in outbox(app, ona.email) if m.kind == DELETION_MAIL]
    assert len(mail) == 1 and "/velzio/account/privacy/delete/cancel/" in mail[0].text_body
    with app.app_context():
        job = db.session.scalar(select(Job).where(Job.name == "purge_account"))
        assert job.run_after == account.deletion_due_at and job.payload == [account.id]
        assert db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.account_id == account.id, AuditEvent.event == "deletion_requested"
            )
        )
    said = client.get(page("velzio")).get_data(as_text=True)
    assert expected(app, "DELETION_REQUESTED") in said
    # The banner, on every page while the deletion waits; the form is gone.
    for path in ("/velzio/account/", page("velzio")):
        html = client.get(path).get_data(as_text=True)
        assert 'action="/velzio/account/privacy/delete/cancel"' in html
        assert gettext_in(app, "Cancel the deletion") in html
    assert 'href="/velzio/account/privacy/delete"' not in html
    # Asking again changes nothing: one email, the same date.
    again = ask_deletion(client, "velzio", ona.password)
    assert again.status_code == 303
    assert ona.account().deletion_due_at == account.deletion_due_at
    assert len([m for m in outbox(app, ona.email) if m.kind == DELETION_MAIL]) == 1


def test_cancel_by_the_emailed_link(client, app, ona):
    ask_deletion(client, "velzio", ona.password)
    link = cancel_link(app, ona.email)
    other_browser = app.test_client()
    opened = other_browser.get(link)
    assert opened.status_code == 200
    assert gettext_in(app, "Keep your account") in opened.get_data(as_text=True)
    assert ona.account().deletion_due_at is not None  # opening the link changes nothing
    pressed = submit(other_browser, link, {})
    assert pressed.status_code == 303 and pressed.headers["Location"] == "/velzio/"
    assert ona.account().deletion_due_at is None
    # Single use (the button pressed again), and the banner is gone.
    token = csrf_from(opened.get_data(as_text=True))
    assert other_browser.post(link, data={"csrf_token": token}).status_code == 410
    assert other_browser.get(link).status_code == 410
    html = client.get("/velzio/account/").get_data(as_text=True)
    assert "/velzio/account/privacy/delete/cancel" not in html
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.event == "deletion_cancelled"))


def test_cancel_by_the_banner_button(client, app, ona):
    ask_deletion(client, "velzio", ona.password)
    link = cancel_link(app, ona.email)
    response = cancel_by_banner(client, "velzio")
    assert response.status_code == 303
    assert ona.account().deletion_due_at is None
    html = client.get(page("velzio")).get_data(as_text=True)
    assert expected(app, "DELETION_CANCELLED") in html
    # The emailed link no longer cancels anything.
    assert app.test_client().get(link).status_code == 410


def test_a_passkey_confirms_the_deletion(client, app, ona):
    key = SoftAuthenticator()
    enrolled = enrol(client, "velzio", key)
    assert enrolled.headers["HX-Redirect"] == "/velzio/account/security"
    html = client.get(page("velzio", "delete")).get_data(as_text=True)
    assert 'data-options="/velzio/account/privacy/delete/passkey/options"' in html
    done = ask(
        client,
        page("velzio", "delete"),
        page("velzio", "delete/passkey/options"),
        page("velzio", "delete/passkey"),
        key.get,
    )
    assert done.headers["HX-Redirect"] == page("velzio")
    assert ona.account().deletion_due_at is not None
    # Another key (not the account's) is refused, and the answer is not replayable.
    stranger = SoftAuthenticator()
    refused = ask(
        client,
        page("velzio", "delete"),
        page("velzio", "delete/passkey/options"),
        page("velzio", "delete/passkey"),
        stranger.get,
    )
    assert refused.status_code == 422


def test_a_stale_login_confirms_it_is_you_first(client, app, ona, clock):
    with app.app_context():
        clock.advance(seconds=settings_for(tenant("velzio")).reauthenticate_after + 1)
    for path in ("delete", "download.json", "download"):
        response = client.get(page("velzio", path))
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/velzio/confirm-it-is-you?next=")
    # The form posted from a page opened before: to "confirm it's you" too.
    html = client.get("/velzio/account/").get_data(as_text=True)
    response = client.post(
        page("velzio", "delete"), data={"csrf_token": csrf_from(html), "password": ona.password}
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/velzio/confirm-it-is-you")
    assert ona.account().deletion_due_at is None


def connect_an_app(app, account_id: int) -> None:
    """Ona allowed an application to log her in; it holds a token."""
    client_id, _ = add_client(app, "velzio", name="Skaitliukų programa", first_party=False)
    with app.app_context():
        velzio = tenant("velzio")
        portal = db.session.scalar(select(Client).where(Client.client_id == client_id))
        db.session.add_all(
            [
                Consent(
                    tenant_id=velzio.id,
                    account_id=account_id,
                    client_pk=portal.id,
                    scopes=["openid", "email"],
                ),
                OAuthToken(
                    tenant_id=velzio.id,
                    client_pk=portal.id,
                    account_id=account_id,
                    family="f" * 32,
                    access_digest="a" * 64,
                    refresh_digest="r" * 64,
                    scope="openid email",
                    expires_at=jobs.utcnow() + timedelta(days=30),
                ),
                Subject(tenant_id=velzio.id, account_id=account_id, subject="s" * 43),
                WebhookEndpoint(
                    tenant_id=velzio.id,
                    url="https://hooks.example/velzio",
                    secret="whsec_" + "A" * 43,
                    event_types=["*"],
                    enabled=True,
                ),
            ]
        )
        db.session.commit()


def test_the_purge_after_the_grace_period(client, app, ona, clock):
    account_id = ona.account().id
    add_authenticator(client, app, "velzio", ona.email)
    connect_an_app(app, account_id)
    # The same address at another utility is another person's account.
    elsewhere = Customer(app.test_client(), app, "elektrum", email=ona.email)
    elsewhere.register()
    assert ask_deletion(client, "velzio", ona.password).status_code == 303

    clock.advance(days=GRACE_DAYS - 1)
    assert run_worker(app) == (0, 0)
    assert stored(app, account_id).deleted_at is None

    clock.advance(days=1, minutes=1)
    assert run_worker(app) == (1, 0)
    purged = stored(app, account_id)
    assert purged.deleted_at == clock.now
    assert purged.email == f"deleted-{account_id}@deleted.invalid"
    assert (purged.first_name, purged.last_name, purged.phone) == ("", "", None)
    assert purged.password_hash is None and purged.terms_version is None
    for model in (
        LoginSession,
        Token,
        Passkey,
        TotpFactor,
        RecoveryCode,
        Consent,
        OAuthToken,
        Subject,
    ):
        assert count(app, model, account_id) == 0, model.__tablename__
    with app.app_context():
        elektrum_id = tenant("elektrum").id
    left = outbox(app, ona.email)
    assert left and {message.tenant_id for message in left} == {elektrum_id}
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.account_id == account_id)
        ).all()
        assert {"registered", "login_succeeded", "deleted"} <= {row.event for row in rows}
        assert all(row.network is None and row.email_digest is None for row in rows)
        deleted = [row for row in rows if row.event == "deleted"]
        assert [row.actor for row in deleted] == ["system"]
        hooks = db.session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.type == "account.deleted")
        ).all()
        assert len(hooks) == 1
        assert json.loads(hooks[0].payload)["data"]["account"] == {
            "id": account_id,
            "email": None,
        }
    # The other utility's account is untouched.
    other = elsewhere.account()
    assert other is not None and other.deleted_at is None and other.first_name == "Jonas"

    # The browser is logged out; the old password logs nobody in.
    assert client.get("/velzio/account/").status_code == 302
    refused = Customer(app.test_client(), app, "velzio").login()
    assert expected(app, "LOGIN_FAILED") in refused.get_data(as_text=True)

    # Running the job again changes nothing.
    with app.app_context():
        velzio = tenant("velzio")
        purge_account(velzio, settings_for(velzio), account_id)
    assert stored(app, account_id).deleted_at == purged.deleted_at

    # The address can register again, as a new customer.
    again = Customer(app.test_client(), app, "velzio")
    again.register()
    assert again.login().status_code == 303
    assert again.account().id != account_id


def test_a_cancelled_deletion_is_not_purged(client, app, ona, clock):
    ask_deletion(client, "velzio", ona.password)
    cancel_by_banner(client, "velzio")
    clock.advance(days=GRACE_DAYS + 1)
    assert run_worker(app) == (1, 0)  # the job runs, and finds nothing to do
    account = ona.account()
    assert account.deleted_at is None and account.first_name == "Ona"
    assert client.get("/velzio/account/").status_code == 200


def test_asked_again_after_cancelling_the_first_job_waits(client, app, ona, clock):
    account_id = ona.account().id
    ask_deletion(client, "velzio", ona.password)
    cancel_by_banner(client, "velzio")
    clock.advance(days=5)
    ona.logout()
    ona.login()
    assert ask_deletion(client, "velzio", ona.password).status_code == 303
    clock.advance(days=GRACE_DAYS - 5, minutes=1)
    assert run_worker(app) == (1, 0)  # the first job: the new date is later
    assert ona.account().deleted_at is None
    clock.advance(days=5)
    assert run_worker(app) == (1, 0)
    assert stored(app, account_id).deleted_at == clock.now

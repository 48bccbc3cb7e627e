"""'Download my data': a JSON attachment (and a page to read) with everything
held about the person: the account, consents, preference history, audit
events, connected apps, second factors by name, logins. No secret of any
kind, and nothing of the same address's account at another utility."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select
from support.apps import tenant
from support.authenticator import SoftAuthenticator, enrol
from support.factors import add_authenticator, phone_of
from support.forms import submit
from support.oidc import add_client
from support.people import Customer
from support.privacy import download, page
from support.texts import gettext_in

from webapp.extensions import db
from webapp.models import Account, LoginSession, Passkey, RecoveryCode, Token, TotpFactor
from webapp.oidc.claims import subject
from webapp.oidc.flows import grant_consent
from webapp.oidc.models import Client

PASSKEY_NAME = "Darbo kompiuteris"
APP_NAME = "Skaitliukų programa"


@pytest.fixture
def ona(client, app):
    person = Customer(client, app, "velzio")
    person.register()
    person.login()
    return person


def with_everything(client, app, person) -> str:
    """Ona's passkey (renamed), her authenticator app with recovery codes,
    and an application she allowed to log her in; returns her `sub` there."""
    enrol(client, "velzio", SoftAuthenticator())
    with app.app_context():
        passkey_id = db.session.scalar(select(Passkey.id))
    renamed = submit(
        client,
        "/velzio/account/security",
        {"name": PASSKEY_NAME},
        action=f"/velzio/account/security/passkeys/{passkey_id}/name",
    )
    assert renamed.status_code == 303
    add_authenticator(client, app, "velzio", person.email)
    client_id, _ = add_client(app, "velzio", name=APP_NAME, first_party=False)
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.id == person.account().id))
        portal = db.session.scalar(select(Client).where(Client.client_id == client_id))
        grant_consent(tenant("velzio"), account, portal, "openid email")
        return subject(account)  # what the app knows her by


def test_the_download_is_a_json_attachment_with_everything(client, app, ona):
    sub = with_everything(client, app, ona)
    response, data = download(client, "velzio")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="velzio-my-data.json"'
    assert response.headers["Cache-Control"] == "no-store"

    assert data["utility"]["slug"] == "velzio"
    assert data["account"]["email"] == ona.email
    assert (data["account"]["first_name"], data["account"]["phone"]) == ("Ona", "+37061234567")
    terms = data["consents"]["terms"]
    assert terms["version"] and terms["accepted_at"] and terms["language"] == "lt"
    assert data["consents"]["invoices_by_email"] is True
    assert data["consents"]["sms_consent"] is False

    kinds = {factor["kind"]: factor for factor in data["factors"]}
    assert kinds["passkey"]["name"] == PASSKEY_NAME and kinds["passkey"]["last_used_at"] is None
    assert kinds["authenticator_app"]["created_at"]
    assert kinds["recovery_codes"]["unused"] == 10

    (connected,) = data["connected_apps"]
    assert connected["name"] == APP_NAME
    assert connected["scopes"] == ["email", "openid"] and connected["granted_at"]
    assert data["app_subject"] == sub

    events = [row["event"] for row in data["audit_events"]]
    assert {"registered", "confirmed", "login_succeeded", "factor_added"} <= set(events)
    assert "consent_granted" in events
    assert all(row["network"] for row in data["audit_events"] if row["event"] == "login_succeeded")
    (login,) = data["login_sessions"]
    assert login["methods"] == ["pwd"] and login["logged_in_at"]
    assert {mail["kind"] for mail in data["emails_sent"]} >= {"confirm", "factor_added"}


def test_the_download_holds_no_secret(client, app, ona):
    with_everything(client, app, ona)
    body = client.get(page("velzio", "download.json")).get_data(as_text=True)
    page_html = client.get(page("velzio", "download")).get_data(as_text=True)
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.email == ona.email))
        passkey = db.session.scalar(select(Passkey))
        secrets = [
            account.password_hash,
            account.webauthn_handle,
            passkey.credential_id,
            base64.b64encode(passkey.public_key).decode(),
            passkey.public_key.hex(),
            db.session.scalar(select(TotpFactor.secret)),
            *db.session.scalars(select(RecoveryCode.digest)),
            *db.session.scalars(select(Token.digest)),
            *db.session.scalars(select(LoginSession.public_id)),
        ]
    assert all(secrets)
    for secret in secrets:
        assert secret not in body and secret not in page_html
    for word in ("password_hash", "digest", "secret", "public_key", "credential"):
        assert word not in body
    # Nor what the person holds: the app's key and the recovery codes.
    phone = phone_of(app, "velzio", ona.email)
    for held in (phone.key.replace(" ", ""), phone.key, *phone.recovery_codes):
        assert held not in body and held not in page_html


def test_the_page_to_read_shows_the_same(client, app, ona):
    sub = with_everything(client, app, ona)
    response = client.get(page("velzio", "download"), headers={"Accept-Language": "lt"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    for text in ("My data", "Ways to log in", "Connected apps", "Security log", "Passkey"):
        assert gettext_in(app, text) in html
    assert PASSKEY_NAME in html and APP_NAME in html and ona.email in html and sub in html


def test_nothing_of_another_utility(client, app, ona):
    """The same address at Elektrum is another account: none of its rows."""
    elsewhere = Customer(app.test_client(), app, "elektrum", email=ona.email)
    elsewhere.register()  # Elektrum requires a factor: an authenticator app
    client_id, _ = add_client(app, "elektrum", name="Elektrum portalas", first_party=False)
    with app.app_context():
        theirs = db.session.scalar(
            select(Account).where(Account.tenant_id == tenant("elektrum").id)
        )
        portal = db.session.scalar(select(Client).where(Client.client_id == client_id))
        grant_consent(tenant("elektrum"), theirs, portal, "openid")
    _, data = download(client, "velzio")
    assert data["utility"]["slug"] == "velzio"
    assert data["factors"] == [] and data["connected_apps"] == []
    assert data["account"]["first_name"] == "Ona"
    assert "factor_added" not in {row["event"] for row in data["audit_events"]}
    assert all(mail["kind"] != "activate" for mail in data["emails_sent"])
    assert len(data["login_sessions"]) == 1

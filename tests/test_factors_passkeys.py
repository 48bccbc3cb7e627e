"""Passkeys checked on the server with a software authenticator
(tests/support/authenticator.py): enrol on the security page, a passwordless
login, a passkey as the second step, rename and remove, and the answers that
must be refused (a cloned key's counter, a used challenge, another site)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from support.authenticator import SoftAuthenticator, ask, enrol
from support.factors import STEP_PATH, press, waits_for_step
from support.forms import submit
from support.mail import outbox
from support.people import Customer, logout
from support.texts import expected, gettext_in

from webapp.extensions import db
from webapp.models import Account, LoginSession, Passkey


def passkey_login(client, slug: str, key: SoftAuthenticator, respond=None):
    return ask(
        client,
        f"/{slug}/",
        f"/{slug}/passkey/options",
        f"/{slug}/passkey/login",
        respond or key.get,
    )


def last_amr(app) -> list[str]:
    with app.app_context():
        return db.session.scalars(select(LoginSession).order_by(LoginSession.id)).all()[-1].amr


@pytest.fixture
def ona(client, app):
    person = Customer(client, app, "velzio")
    person.register()
    person.login()
    return person


@pytest.fixture
def key(client, app, ona):
    """Ona's passkey, enrolled on her security page."""
    authenticator = SoftAuthenticator()
    done = enrol(client, "velzio", authenticator)
    assert done.headers["HX-Redirect"] == "/velzio/account/security"
    return authenticator


def test_a_passkey_is_enrolled_named_and_told_by_email(client, app, ona, key):
    page = client.get("/velzio/account/security").get_data(as_text=True)
    assert expected(app, "PASSKEY_ADDED") in page
    assert "Slaptaraktis 20" in page  # "Passkey <date>": the AAGUID names no provider
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.email == ona.email))
        passkey = db.session.scalar(select(Passkey))
        # The user handle the authenticator keeps is random, not the email.
        assert account.webauthn_handle == key.user_handle
        assert ona.email.split("@")[0] not in key.user_handle
        assert passkey.transports == ["internal"] and passkey.account_id == account.id
    assert outbox(app, ona.email)[-1].kind == "factor_added"


def test_a_passkey_logs_in_without_the_password(client, app, ona, key):
    logout(client, "velzio")
    done = passkey_login(client, "velzio", key)
    assert done.headers["HX-Redirect"] == "/velzio/account/"
    assert client.get("/velzio/account/").status_code == 200
    assert last_amr(app) == ["hwk", "user", "mfa"]


def test_a_passkey_login_needs_user_verification(client, app, ona, key):
    logout(client, "velzio")
    key.verifies_user = False
    refused = passkey_login(client, "velzio", key)
    assert refused.status_code == 422
    assert refused.get_json()["error"] == expected(app, "PASSKEY_FAILED")


def test_a_passkey_is_the_second_step_after_the_password(client, app, ona, key):
    logout(client, "velzio")
    response = submit(client, "/velzio/", {"email": ona.email, "password": ona.password})
    assert waits_for_step(response, "velzio")
    page = client.get(f"/velzio{STEP_PATH}").get_data(as_text=True)
    assert gettext_in(app, "Use a passkey") in page
    done = ask(
        client,
        f"/velzio{STEP_PATH}",
        f"/velzio{STEP_PATH}/passkey/options",
        f"/velzio{STEP_PATH}/passkey",
        key.get,
    )
    assert done.headers["HX-Redirect"] == "/velzio/account/"
    assert last_amr(app) == ["pwd", "hwk", "mfa"]


def test_a_cloned_passkey_is_refused(client, app, ona, key):
    copy = key.clone()
    logout(client, "velzio")
    assert "HX-Redirect" in passkey_login(client, "velzio", key).headers  # counter 1
    logout(client, "velzio")
    assert "HX-Redirect" in passkey_login(client, "velzio", key).headers  # counter 2
    logout(client, "velzio")
    # The copy's counter is behind the one we have seen: refused.
    refused = passkey_login(client, "velzio", copy)
    assert refused.status_code == 422
    assert client.get("/velzio/account/").status_code == 302


def test_an_answer_for_another_site_or_a_used_challenge_is_refused(client, app, ona, key):
    logout(client, "velzio")
    elsewhere = SoftAuthenticator(
        origin="https://evil.example",
        credential_id=key.credential_id,
        key=key.key,
        user_handle=key.user_handle,
        sign_count=key.sign_count,
    )
    assert passkey_login(client, "velzio", elsewhere).status_code == 422
    answers = []
    passkey_login(client, "velzio", key, respond=lambda o: answers.append(key.get(o)) or answers[0])
    logout(client, "velzio")
    # The same answer again: its challenge was used up.
    replayed = ask(
        client, "/velzio/", "/velzio/passkey/options", "/velzio/passkey/login", lambda o: answers[0]
    )
    assert replayed.status_code == 422


def test_a_passkey_of_one_tenant_does_not_log_in_at_another(client, app, ona, key):
    logout(client, "velzio")
    assert passkey_login(client, "elektrum", key).status_code == 422


def test_rename_and_remove(client, app, ona, key):
    with app.app_context():
        passkey_id = db.session.scalar(select(Passkey.id))
    renamed = press(
        client,
        "velzio",
        f"/velzio/account/security/passkeys/{passkey_id}/name",
        {"name": "Telefonas"},
    )
    assert renamed.status_code == 303
    assert "Telefonas" in client.get("/velzio/account/security").get_data(as_text=True)
    # Someone else's passkey number is no passkey of hers.
    assert (
        press(client, "velzio", "/velzio/account/security/passkeys/999/remove").status_code == 404
    )
    removed = press(client, "velzio", f"/velzio/account/security/passkeys/{passkey_id}/remove")
    assert removed.status_code == 303
    assert expected(app, "PASSKEY_REMOVED") in client.get("/velzio/account/security").get_data(
        as_text=True
    )
    assert outbox(app, ona.email)[-1].kind == "factor_removed"
    logout(client, "velzio")
    assert passkey_login(client, "velzio", key).status_code == 422


def test_pages_at_an_ip_address_say_where_passkeys_work(client, app):
    page = client.get("/velzio/", base_url="http://127.0.0.1").get_data(as_text=True)
    assert "passkey-note" in page and "http://localhost/velzio/" in page
    here = client.get("/velzio/").get_data(as_text=True)
    assert "passkey-note" not in here
    assert 'autocomplete="username webauthn"' in here


def test_a_passkey_login_is_the_second_factor_elektrum_requires(client, app):
    jonas = Customer(client, app, "elektrum")
    jonas.register()
    key = SoftAuthenticator()
    assert "HX-Redirect" in enrol(client, "elektrum", key).headers
    logout(client, "elektrum")
    done = passkey_login(client, "elektrum", key)
    assert done.headers["HX-Redirect"] == "/elektrum/account/"
    assert client.get("/elektrum/account/").status_code == 200


@pytest.mark.parametrize(
    "credential",
    ["", "not json", "[]", '{"id": 5}', '{"id": "AAAA", "response": "x"}', "{" * 5000],
)
def test_a_malformed_answer_is_a_translated_refusal(client, app, ona, key, credential):
    pages = (
        ("/velzio/account/security", "/velzio/account/security/passkeys"),
        ("/velzio/", "/velzio/passkey"),
    )
    for page, action in pages:
        if page == "/velzio/":
            logout(client, "velzio")
        answer = "/login" if page == "/velzio/" else ""
        refused = ask(client, page, f"{action}/options", action + answer, lambda _: credential)
        assert refused.status_code == 422
        assert refused.get_json()["error"] == expected(app, "PASSKEY_FAILED")


def test_every_factor_post_needs_its_csrf_token(client, app, ona):
    posts = [
        rule.rule.replace("<tenant:tenant>", "velzio").replace("<int:passkey_id>", "1")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("factors.") and "POST" in (rule.methods or ())
    ]
    assert len(posts) == 17
    for path in posts:
        assert client.post(path, data={"code": "123456"}).status_code == 400, path

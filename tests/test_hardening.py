"""Promises of SECURITY.md not proved elsewhere: password re-hashing, the length
ceiling, a session planted before login, links opened in another browser, HSTS
and Secure cookies in production."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from support.apps import base_config, production_app
from support.data import VELZIO_OK
from support.forms import csrf_from, submit
from support.mail import link_in, outbox
from support.people import account, confirm, login, register_velzio
from support.texts import expected, gettext_in

from webapp import create_app, security
from webapp.policy import PASSWORD_CEILING


def argon2_time_cost(password_hash: str) -> int:
    # $argon2id$v=19$m=1024,t=1,p=1$salt$hash
    parameters = dict(part.split("=") for part in password_hash.split("$")[3].split(","))
    return int(parameters["t"])


def test_login_rehashes_a_password_stored_with_older_parameters(client, app, database, tmp_path):
    """After a deploy raises the argon2 cost, each customer's hash is upgraded the
    next time they log in, with no action of theirs."""
    email = register_velzio(client, app)
    assert argon2_time_cost(account(app, "velzio", email).password_hash) == 1

    stronger = create_app({**base_config(tmp_path, database), "ARGON2_TIME_COST": 2})
    stronger.test_client_class = type(client)
    response = login(stronger.test_client(), "velzio", email, VELZIO_OK["password"])
    assert response.status_code == 303
    assert argon2_time_cost(account(app, "velzio", email).password_hash) == 2
    # The upgraded hash still opens the account.
    assert login(app.test_client(), "velzio", email, VELZIO_OK["password"]).status_code == 303


@pytest.fixture
def hashes(monkeypatch):
    """Count argon2 hash computations (verification of an unknown email hashes too)."""
    calls = []
    real = security.PasswordHasher.hash

    def counting(self, password, *args, **kwargs):
        calls.append(len(password))
        return real(self, password, *args, **kwargs)

    monkeypatch.setattr(security.PasswordHasher, "hash", counting)
    return calls


def test_passwords_over_the_ceiling_are_refused_before_hashing(client, app, hashes):
    """Hashing is the expensive step: a long 'password' must not reach it."""
    email = register_velzio(client, app)
    hashes.clear()
    huge = "A1a" * 20_000  # under the body limit, far over the ceiling
    for typed in (email, "nobody@example.com"):
        response = login(app.test_client(), "velzio", typed, huge)
        assert response.status_code == 422
        assert expected(app, "VALUE_TOO_LONG") in response.get_data(as_text=True)
    assert hashes == []
    # At the ceiling it is an ordinary wrong password: checked (for an unknown
    # email, against a dummy hash) and refused.
    response = login(app.test_client(), "velzio", "nobody@example.com", "A1a" * 42)
    assert response.status_code == 422
    assert hashes == [126] and PASSWORD_CEILING >= 126


def test_a_session_planted_before_login_stays_anonymous(client, app):
    """Session fixation: someone who hands a victim their pre-login session (or
    copies it before the victim logs in) gains nothing when the victim logs in."""
    email = register_velzio(client, app)
    victim = app.test_client()
    victim.get("/velzio/")
    planted = victim.get_cookie("savitarna_session")
    assert planted is not None
    html = victim.get("/velzio/").get_data(as_text=True)
    old_form_token = csrf_from(html)

    assert login(victim, "velzio", email, VELZIO_OK["password"]).status_code == 303
    assert victim.get("/velzio/account/").status_code == 200
    assert victim.get_cookie("savitarna_session").value != planted.value

    attacker = app.test_client()
    attacker.set_cookie("savitarna_session", planted.value, domain=planted.domain)
    response = attacker.get("/velzio/account/")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/velzio/"
    # Forms opened before login do not carry over into the logged-in session.
    response = victim.post(
        "/velzio/account/preferences",
        data={"csrf_token": old_form_token, "invoices_by_email": "y"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("slug", ["velzio", "elektrum"])
def test_emailed_links_work_in_another_browser(client, app, slug):
    """People register on a computer and open the email on their phone."""
    if slug == "velzio":
        submit(client, "/velzio/register", VELZIO_OK)
        link = link_in(outbox(app)[-1], "/confirm/")
        phone = app.test_client()
        response = confirm(phone, link)
        assert response.status_code == 303
        page = phone.get(response.headers["Location"]).get_data(as_text=True)
        assert expected(app, "EMAIL_CONFIRMED") in page
        assert login(phone, slug, VELZIO_OK["email"], VELZIO_OK["password"]).status_code == 303
    else:
        from support.data import ELEKTRUM_OK
        from support.factors import through_step

        submit(client, "/elektrum/register", ELEKTRUM_OK)
        link = link_in(outbox(app)[-1], "/activate/")
        phone = app.test_client()
        response = submit(phone, link, {"password": "Naujas_123", "password2": "Naujas_123"})
        assert response.status_code == 303
        response = through_step(phone, app, slug, ELEKTRUM_OK["email"], response)
        assert response.status_code == 303
        assert phone.get("/elektrum/account/").status_code == 200


def test_hsts_is_sent_over_https_in_production_only(database, tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    production = production_app(database, tmp_path).test_client()
    secure = production.get("/healthz", base_url="https://savitarna.example")
    assert "max-age=31536000" in secure.headers["Strict-Transport-Security"]
    plain = production.get("/healthz", base_url="http://savitarna.example")
    assert "Strict-Transport-Security" not in plain.headers
    development = create_app({**base_config(tmp_path, database), "APP_ENV": "development"})
    response = development.test_client().get("/healthz", base_url="https://savitarna.example")
    assert "Strict-Transport-Security" not in response.headers


def test_production_cookies_are_secure(app, database, tmp_path, monkeypatch, client):
    register_velzio(client, app)
    production = production_app(database, tmp_path).test_client()
    page = production.get("/velzio/", base_url="https://savitarna.example")
    response = production.post(
        "/velzio/",
        base_url="https://savitarna.example",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "email": VELZIO_OK["email"],
            "password": VELZIO_OK["password"],
        },
        headers={"Referer": "https://savitarna.example/velzio/"},
    )
    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_refused_live_check_leaves_the_session_cookie_alone(client, app):
    """A live check from the page being left goes out after the submit's answer
    has set a new session (a login rotates it), with that cookie of the moment,
    and no token for it: its 400 must not set a cookie over the one the next
    page sets, nor use up the notice that page shows (seen in the browser
    tests: the account page's logout then answered 400)."""
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Slaptažodis išsaugotas.")]
    stale = client.post(
        "/velzio/password-rules",
        data={"csrf_token": "from-the-page-before", "password": "Naujas456"},
        headers={"HX-Request": "true", "HX-Target": "password-rules"},
    )
    assert stale.status_code == 400
    assert "Set-Cookie" not in stale.headers
    with client.session_transaction() as session:
        assert session["_flashes"] == [("success", "Slaptažodis išsaugotas.")]
    # A whole page refused for its token still answers as before.
    page = client.post("/velzio/register", data={"csrf_token": "stale"})
    assert page.status_code == 400


def test_an_expired_form_says_so_where_the_live_check_answers(client, app):
    """A live check or toggle sent from a page whose form has expired: the field's
    error line says to reload (htmx swaps 400 fragments); anything else swaps
    nothing and keeps what was typed."""
    line = client.post(
        "/velzio/register/check/email",
        data={"csrf_token": "stale", "email": "ona@example.com"},
        headers={"HX-Request": "true", "HX-Target": "email-error", "Accept-Language": "lt"},
    )
    assert line.status_code == 400
    html = line.get_data(as_text=True)
    assert html.startswith('<p class="field-error" id="email-error">')
    assert gettext_in(app, "Reload the page and try again") in html
    assert "<html" not in html

    toggle = client.post(
        "/elektrum/register/customer",
        data={"csrf_token": "stale", "is_customer": "yes"},
        headers={"HX-Request": "true", "HX-Target": "contract-region"},
    )
    assert toggle.status_code == 400
    assert toggle.headers["HX-Reswap"] == "none"
    page = client.post("/velzio/register", data={"csrf_token": "stale"})
    assert page.status_code == 400 and "HX-Reswap" not in page.headers
    assert gettext_in(app, "This page has expired") in page.get_data(as_text=True)

"""A login that takes one more step: a step registered by the test itself (a
tiny blueprint asking for a code, as an authenticator code will) proves that
every kind of login waits for it, that a half-done login is not a login, that
it expires, and that it ends where a whole login ends."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from flask import Blueprint, render_template_string, request
from sqlalchemy import select
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.factors import through_step
from support.forms import csrf_from, submit
from support.mail import link_in, outbox
from support.people import login, register_velzio
from support.texts import expected

from webapp.auth import sessions
from webapp.auth.flows import end_sessions
from webapp.auth.sessions import (
    PENDING_KEY,
    abandon_pending_login,
    finish_pending_login,
    pending_login,
    register_step,
)
from webapp.extensions import db
from webapp.models import Account, AuditEvent

CODE = "123456"
STEP_PAGE = """{% for text in get_flashed_messages() %}<p>{{ text }}</p>{% endfor %}
<p>Code for {{ email }}</p>
<form method="post"><input name="csrf_token" type="hidden" value="{{ csrf_token() }}">
<input name="code"></form>"""


def code_step(name: str) -> Blueprint:
    """A step page: shows whose login waits, takes the code, then finishes."""
    bp = Blueprint(f"step_{name}", __name__, url_prefix=f"/<tenant:tenant>/step-{name}")

    @bp.route("/", methods=["GET", "POST"])
    def page():
        account = pending_login(name)
        if account is None:
            return abandon_pending_login()
        if request.method == "POST":
            if request.form.get("code") != CODE:
                return "wrong code", 422
            return finish_pending_login(name)
        return render_template_string(STEP_PAGE, email=account.email)

    return bp


@pytest.fixture
def stepped(app):
    """The app with a code step for Ona (ona@example.com) only."""
    app.register_blueprint(code_step("code"))
    register_step(app, "code", lambda account: account.email == "ona@example.com", "step_code.page")
    return app


def logins(app) -> int:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "login_succeeded"))
        return len(rows.all())


def pass_step(client, name: str = "code", slug: str = "velzio", code: str = CODE, **headers):
    """Open the step's page and send the code from it."""
    return submit(client, f"/{slug}/step-{name}/", {"code": code}, headers=headers)


def post_step(client, name: str = "code", slug: str = "velzio"):
    """Send the code without opening the step's page (which would not show it)."""
    html = client.get(f"/{slug}/").get_data(as_text=True)
    return client.post(f"/{slug}/step-{name}/", data={"csrf_token": csrf_from(html), "code": CODE})


def test_a_login_with_a_step_waits_for_it(client, stepped):
    app = stepped
    register_velzio(client, app)
    response = login(client, "velzio", VELZIO_OK["email"], VELZIO_OK["password"])
    assert response.status_code == 303
    assert response.headers["Location"] == "/velzio/step-code/"

    # Half done is not logged in: the account page asks to log in first.
    refused = client.get("/velzio/account/")
    assert refused.status_code == 302
    assert expected(app, "LOGIN_REQUIRED") in client.get(refused.headers["Location"]).get_data(
        as_text=True
    )
    assert logins(app) == 0

    # The step page knows whose login waits (login page visits kept it).
    page = client.get("/velzio/step-code/").get_data(as_text=True)
    assert "Code for ona@example.com" in page
    assert pass_step(client, code="000000").status_code == 422
    assert client.get("/velzio/account/").status_code == 302

    done = pass_step(client)
    assert done.status_code == 303 and done.headers["Location"] == "/velzio/account/"
    assert client.get("/velzio/account/").status_code == 200
    assert logins(app) == 1
    # The step cannot be replayed: the half-done login is gone.
    with client.session_transaction() as stored:
        assert PENDING_KEY not in stored


def test_an_account_the_step_does_not_apply_to_logs_in_at_once(client, stepped):
    register_velzio(client, stepped, email="petras@example.com")
    response = login(client, "velzio", "petras@example.com", VELZIO_OK["password"])
    assert response.headers["Location"] == "/velzio/account/"
    assert client.get("/velzio/account/").status_code == 200


def test_next_is_kept_through_the_step(client, stepped):
    register_velzio(client, stepped)
    html = client.get("/velzio/?next=/velzio/account/password").get_data(as_text=True)
    response = client.post(
        "/velzio/",
        data={
            "csrf_token": csrf_from(html),
            "next": "/velzio/account/password",
            "email": VELZIO_OK["email"],
            "password": VELZIO_OK["password"],
        },
    )
    assert response.headers["Location"] == "/velzio/step-code/"
    assert pass_step(client).headers["Location"] == "/velzio/account/password"


def _later(monkeypatch, seconds: float) -> None:
    now = time.time()
    monkeypatch.setattr(sessions, "time", SimpleNamespace(time=lambda: now + seconds))


def test_a_half_done_login_expires(client, stepped, monkeypatch):
    app = stepped
    register_velzio(client, app)
    html = client.get("/velzio/?next=/velzio/account/password").get_data(as_text=True)
    client.post(
        "/velzio/",
        data={
            "csrf_token": csrf_from(html),
            "next": "/velzio/account/password",
            "email": VELZIO_OK["email"],
            "password": VELZIO_OK["password"],
        },
    )
    page = client.get("/velzio/step-code/").get_data(as_text=True)
    _later(monkeypatch, app.config["LOGIN_STEP_SECONDS"] + 1)
    response = client.post("/velzio/step-code/", data={"csrf_token": csrf_from(page), "code": CODE})
    assert response.status_code == 303
    # Back to the login page, the page asked for still kept.
    assert response.headers["Location"] == "/velzio/?next=/velzio/account/password"
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert expected(app, "LOGIN_STEP_EXPIRED") in html
    assert client.get("/velzio/account/").status_code == 302
    assert logins(app) == 0
    # Opening the step page again does not bring it back.
    monkeypatch.undo()
    assert client.get("/velzio/step-code/").headers["Location"] == "/velzio/"


def test_a_half_done_login_within_its_time_completes(client, stepped, monkeypatch):
    register_velzio(client, stepped)
    login(client, "velzio", VELZIO_OK["email"], VELZIO_OK["password"])
    page = client.get("/velzio/step-code/").get_data(as_text=True)
    _later(monkeypatch, stepped.config["LOGIN_STEP_SECONDS"] - 5)
    response = client.post("/velzio/step-code/", data={"csrf_token": csrf_from(page), "code": CODE})
    assert response.headers["Location"] == "/velzio/account/"


def test_a_half_done_login_ends_with_the_accounts_sessions(client, stepped):
    """A password reset (or a logout elsewhere) between the steps ends it."""
    app = stepped
    register_velzio(client, app)
    login(client, "velzio", VELZIO_OK["email"], VELZIO_OK["password"])
    with app.app_context():
        end_sessions(db.session.scalar(select(Account).where(Account.email == VELZIO_OK["email"])))
        db.session.commit()
    response = post_step(client)
    assert response.headers["Location"] == "/velzio/"
    assert client.get("/velzio/account/").status_code == 302


def test_a_half_done_login_counts_at_its_own_tenant_only(client, stepped):
    app = stepped
    register_velzio(client, app)
    login(client, "velzio", VELZIO_OK["email"], VELZIO_OK["password"])
    response = post_step(client, slug="elektrum")
    assert response.headers["Location"] == "/elektrum/"
    assert client.get("/elektrum/account/").status_code == 302


def test_the_step_page_without_a_login_asks_to_log_in(client, stepped):
    response = client.get("/velzio/step-code/")
    assert response.status_code == 303 and response.headers["Location"] == "/velzio/"
    html = client.get("/velzio/").get_data(as_text=True)
    assert expected(stepped, "LOGIN_REQUIRED") in html
    assert expected(stepped, "LOGIN_STEP_EXPIRED") not in html


def test_a_reset_link_logs_in_through_the_step(client, stepped):
    app = stepped
    register_velzio(client, app)
    submit(client, "/velzio/forgot", {"email": VELZIO_OK["email"]})
    link = link_in(outbox(app, VELZIO_OK["email"])[-1], "/reset/")
    response = submit(client, link, {"password": "Naujas456", "password2": "Naujas456"})
    assert response.headers["Location"] == "/velzio/step-code/"
    assert client.get("/velzio/account/").status_code == 302
    # The saved password is announced on the step's page, without "you are
    # logged in" (not yet: the step comes first).
    page = client.get("/velzio/step-code/").get_data(as_text=True)
    assert expected(app, "PASSWORD_SAVED") in page
    assert expected(app, "PASSWORD_SET") not in page
    assert pass_step(client).headers["Location"] == "/velzio/account/"
    assert client.get("/velzio/account/").status_code == 200


def test_an_activation_link_logs_in_through_the_step(client, app):
    app.register_blueprint(code_step("code"))
    register_step(app, "code", lambda account: True, "step_code.page")
    assert submit(client, "/elektrum/register", ELEKTRUM_OK).status_code == 303
    link = link_in(outbox(app, ELEKTRUM_OK["email"])[-1], "/activate/")
    response = submit(client, link, {"password": "Elektra123", "password2": "Elektra123"})
    # Elektrum's second factor first (registered before this test's step).
    response = through_step(client, app, "elektrum", ELEKTRUM_OK["email"], response)
    assert response.headers["Location"] == "/elektrum/step-code/"
    assert client.get("/elektrum/account/").status_code == 302
    assert pass_step(client, slug="elektrum").headers["Location"] == "/elektrum/account/"
    assert client.get("/elektrum/account/").status_code == 200


def test_steps_follow_one_another_in_order(client, stepped):
    app = stepped
    app.register_blueprint(code_step("second"))
    register_step(app, "second", lambda account: True, "step_second.page")
    register_velzio(client, app)
    login(client, "velzio", VELZIO_OK["email"], VELZIO_OK["password"])
    # The second step's page does not accept the login while it is the first's turn.
    assert post_step(client, "second").headers["Location"] == "/velzio/"
    login(client, "velzio", VELZIO_OK["email"], VELZIO_OK["password"])
    assert pass_step(client, "code").headers["Location"] == "/velzio/step-second/"
    assert client.get("/velzio/account/").status_code == 302
    assert pass_step(client, "second").headers["Location"] == "/velzio/account/"
    assert logins(app) == 1


def test_a_step_cannot_be_registered_twice(stepped):
    with pytest.raises(ValueError):
        register_step(stepped, "code", lambda account: True, "step_code.page")


def test_htmx_login_and_step_redirect_with_hx_redirect(client, stepped):
    register_velzio(client, stepped)
    html = client.get("/velzio/").get_data(as_text=True)
    response = client.post(
        "/velzio/",
        data={
            "csrf_token": csrf_from(html),
            "email": VELZIO_OK["email"],
            "password": VELZIO_OK["password"],
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/velzio/step-code/"
    done = pass_step(client, **{"HX-Request": "true"})
    assert done.status_code == 204 and done.headers["HX-Redirect"] == "/velzio/account/"


def test_a_half_done_login_in_a_frame_keeps_its_cookie(client, stepped):
    """A frame sets a cookie only for a login: a half-done one counts, or the
    step would find nothing."""
    register_velzio(client, stepped)
    client._cookies.clear()
    page = client.get("/velzio/embed/")
    response = client.post(
        "/velzio/embed/",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "email": VELZIO_OK["email"],
            "password": VELZIO_OK["password"],
        },
        headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.headers["Location"] == "/velzio/step-code/"
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("savitarna_session=")
    )
    assert "Partitioned" in cookie and "SameSite=None" in cookie
    assert "Code for ona@example.com" in client.get("/velzio/step-code/").get_data(as_text=True)

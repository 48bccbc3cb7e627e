"""Security properties: headers, hostile input, body size, token storage, hashing."""

import hashlib
import re

import pytest
from sqlalchemy import select
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.forms import csrf_from, submit
from support.mail import link_in, outbox
from support.people import account, login, register_velzio
from support.texts import gettext_in

from webapp import create_app
from webapp.config import ConfigError, load_config
from webapp.extensions import db
from webapp.models import Token


@pytest.mark.parametrize("path", ["/", "/velzio/", "/elektrum/register", "/nera/"])
def test_security_headers(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "no-store" in response.headers["Cache-Control"]


def test_session_cookie_flags(client, app):
    register_velzio(client, app)
    response = login(client, "velzio", "ona@example.com", "Slapta123")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_tokens_are_stored_as_sha256_digests(client, app):
    submit(client, "/velzio/register", VELZIO_OK)
    submit(client, "/elektrum/register", ELEKTRUM_OK)
    secrets = [link_in(m, "/").rsplit("/", 1)[1] for m in outbox(app)]
    with app.app_context():
        tokens = list(db.session.scalars(select(Token)))
        rows = [
            " ".join(str(value) for value in row)
            for row in db.session.execute(db.text("SELECT * FROM tokens"))
        ]
    assert len(tokens) == 2
    assert {t.digest for t in tokens} == {hashlib.sha256(s.encode()).hexdigest() for s in secrets}
    for secret in secrets:
        assert len(secret) >= 32
        assert not any(secret in row for row in rows)


def test_passwords_are_argon2id_hashes(client, app):
    submit(client, "/velzio/register", VELZIO_OK)
    stored = account(app, "velzio", "ona@example.com")
    assert stored.password_hash.startswith("$argon2id$")
    assert "Slapta123" not in stored.password_hash


def test_production_hash_parameters_and_secret(tmp_path, monkeypatch):
    names = ("ARGON2_TIME_COST", "ARGON2_MEMORY_COST", "ARGON2_PARALLELISM", "SECRET_KEY")
    for name in (*names, "PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError):
        load_config(tmp_path, {"APP_ENV": "production"})
    config = load_config(
        tmp_path,
        {"APP_ENV": "production", "SECRET_KEY": "s" * 32, "PUBLIC_URL": "https://savitarna.lt"},
    )
    assert config["ARGON2_TIME_COST"] >= 2
    assert config["ARGON2_MEMORY_COST"] >= 19 * 1024
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["MAILBOX_ENABLED"] is False


def test_body_over_the_limit_is_413(client, app):
    response = client.post(
        "/velzio/register",
        data={"first_name": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)},
        headers={"Accept-Language": "lt"},
    )
    assert response.status_code == 413
    assert gettext_in(app, "What you sent is too large") in response.get_data(as_text=True)


def test_csrf_missing_is_a_friendly_400(client, app):
    response = client.post("/velzio/register", data=VELZIO_OK)
    assert response.status_code == 400
    assert gettext_in(app, "This page has expired") in response.get_data(as_text=True)
    assert account(app, "velzio", "ona@example.com") is None


def test_a_view_marked_csrf_exempt_is_not_checked(app):
    """A client without a browser (an OpenID Connect token endpoint) posts no
    CSRF token; a view marked exempt takes it, every other view still refuses."""
    from webapp.extensions import csrf

    @app.post("/<tenant>/exempt-probe")
    @csrf.exempt
    def exempt_probe():
        return "taken"

    client = app.test_client()
    response = client.post("/velzio/exempt-probe", data={"x": "1"})
    assert (response.status_code, response.get_data(as_text=True)) == (200, "taken")
    assert client.post("/velzio/register", data=VELZIO_OK).status_code == 400


HOSTILE = {
    "huge": "Ą" * 1000,  # well over every field limit, under the body limit
    "nul": "Ona\x00<script>",
    "unicode": "😀\u202e\u0301Ž",
    "missing": None,
}

# (page to take the CSRF token from, where to post, the fields)
FORMS = [
    ("/velzio/register", "/velzio/register", list(VELZIO_OK)),
    ("/elektrum/register", "/elektrum/register", list(ELEKTRUM_OK)),
    ("/velzio/", "/velzio/", ["email", "password"]),
    ("/elektrum/", "/elektrum/", ["email", "password"]),
    ("/velzio/forgot", "/velzio/forgot", ["email"]),
    ("/elektrum/resend", "/elektrum/resend", ["email"]),
]


def _hostile_data(fields, kind):
    if HOSTILE[kind] is None:
        return {}
    return {name: HOSTILE[kind] for name in fields}


@pytest.mark.parametrize("kind", list(HOSTILE))
@pytest.mark.parametrize(("page", "action", "fields"), FORMS)
def test_hostile_input_on_forms_gets_a_message(client, app, page, action, fields, kind):
    response = submit(client, page, _hostile_data(fields, kind), action=action)
    html = response.get_data(as_text=True)
    if action.endswith(("/forgot", "/resend")) and kind != "missing":
        # No email validation there (same page for any address): never a 500.
        assert response.status_code in (200, 422)
    else:
        assert response.status_code == 422
        assert 'id="error-summary"' in html
    assert "<script>" not in html
    assert outbox(app) == []


FIELD_CHECKS = [("velzio", field) for field in VELZIO_OK] + [
    ("elektrum", field) for field in ELEKTRUM_OK
]


@pytest.mark.parametrize("kind", list(HOSTILE))
@pytest.mark.parametrize(("slug", "field"), FIELD_CHECKS)
def test_hostile_input_on_live_checks(client, slug, field, kind):
    html = client.get(f"/{slug}/register").get_data(as_text=True)
    fields = VELZIO_OK if slug == "velzio" else ELEKTRUM_OK
    data = {"csrf_token": csrf_from(html), **_hostile_data(fields, kind)}
    response = client.post(
        f"/{slug}/register/check/{field}", data=data, headers={"HX-Request": "true"}
    )
    assert response.status_code in (200, 422)
    body = response.get_data(as_text=True)
    assert f'id="{field}-error"' in body and "<script>" not in body


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_input_on_fragments(client, kind):
    html = client.get("/elektrum/register").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(html),
        **_hostile_data(["is_customer", "password", "password2"], kind),
    }
    for url in (
        "/elektrum/register/customer",
        "/elektrum/password-rules",
        "/velzio/password-rules",
    ):
        response = client.post(url, data=data, headers={"HX-Request": "true"})
        assert response.status_code == 200
        assert "<script>" not in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_input_on_link_and_account_pages(client, app, kind):
    register_velzio(client, app)
    submit(client, "/velzio/forgot", {"email": "ona@example.com"})
    reset = link_in(outbox(app, "ona@example.com")[-1], "/reset/")
    data = _hostile_data(["password", "password2", "current_password"], kind)
    response = submit(client, reset, data)
    assert response.status_code == 422
    assert 'id="error-summary"' in response.get_data(as_text=True)

    login(client, "velzio", "ona@example.com", "Slapta123")
    response = submit(client, "/velzio/account/password", data)
    assert response.status_code == 422
    assert 'id="error-summary"' in response.get_data(as_text=True)
    prefs = _hostile_data(["phone", "sms_consent", "invoices_by_email"], kind)
    response = submit(client, "/velzio/account/", prefs, action="/velzio/account/preferences")
    assert response.status_code in (303, 422)
    if kind != "missing":
        assert response.status_code == 422
    assert account(app, "velzio", "ona@example.com").phone in ("+37061234567", None)


@pytest.mark.parametrize(
    "path", ["/velzio/confirm/%00", "/velzio/reset/" + "a" * 5000, "/velzio/activate/%F0%9F%98%80"]
)
def test_hostile_tokens(client, path):
    assert client.get(path).status_code == 410


def test_embedded_pages_cannot_be_framed_by_strangers(client):
    csp = client.get("/velzio/register").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in csp
    assert not re.search(r"frame-ancestors[^;]*\*", csp)


def test_create_app_needs_no_import_time_state(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    app = create_app(
        {"APP_ENV": "testing", "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    assert app.config["SECRET_KEY"] == "k"

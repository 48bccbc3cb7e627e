"""Fixtures: an app on a migrated database (SQLite always, PostgreSQL too when
TEST_DATABASE_URL is set), a client, the demo tenants, and small helpers that
act the way a person (or an email client) would."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text

from webapp import create_app, deferred
from webapp.config import PROJECT_ROOT, database_url
from webapp.contracts import import_contracts
from webapp.extensions import db
from webapp.models import Account, OutboxMessage, Tenant
from webapp.tenants import load_tenants, settings_for

TENANTS_FILE = PROJECT_ROOT / "data" / "tenants.toml"
CONTRACTS_FILE = PROJECT_ROOT / "data" / "elektrum-contracts.csv"
TABLES = (
    "webhook_deliveries",
    "webhook_endpoints",
    "jobs",
    "audit_events",
    "outbox",
    "tokens",
    "contracts",
    "accounts",
    "tenants",
)

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def pytest_report_header(config):
    storages = "memory" + (", redis" if os.environ.get("TEST_REDIS_URL") else "")
    return [f"database backends: {', '.join(BACKENDS)}", f"rate-limit storage: {storages}"]


def base_config(tmp_path: Path, url: str) -> dict:
    return {
        "APP_ENV": "testing",
        "SECRET_KEY": "test-" + uuid.uuid4().hex,
        "SQLALCHEMY_DATABASE_URI": url,
        "MAIL_URL": "",
        "MAILBOX_ENABLED": True,
        # Cheap hashes keep the suite fast; the production parameters are
        # checked in test_security.py.
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 1024,
        "ARGON2_PARALLELISM": 1,
        "SERVER_NAME": None,
    }


@pytest.fixture(scope="session", params=BACKENDS)
def database(request, tmp_path_factory) -> Iterator[str]:
    """A migrated, empty database for the session: a SQLite file, or a fresh
    schema in the PostgreSQL server of TEST_DATABASE_URL."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.sqlite"
        url = f"sqlite:///{path}"
        _migrate(url, tmp_path_factory.mktemp("instance"))
        yield url
        return
    server = database_url(os.environ["TEST_DATABASE_URL"])
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server else "?"
    url = f"{server}{separator}options=-csearch_path%3D{schema}"
    try:
        _migrate(url, tmp_path_factory.mktemp("instance"))
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _migrate(url: str, tmp_path: Path) -> None:
    app = create_app(base_config(tmp_path, url))
    with app.app_context():
        upgrade(directory=str(PROJECT_ROOT / "webapp" / "migrations"))
        db.engine.dispose()


@pytest.fixture
def app(database, tmp_path, monkeypatch):
    """The application on an emptied database with the demo tenants and the
    Elektrum contract registry loaded."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(base_config(tmp_path, database))
    app.test_client_class = ServerLikeClient
    with app.app_context():
        for table in TABLES:
            db.session.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (constant names)
        db.session.commit()
        load_tenants(TENANTS_FILE)
        elektrum = db.session.scalar(select(Tenant).where(Tenant.slug == "elektrum"))
        import_contracts(elektrum, settings_for(elektrum), CONTRACTS_FILE.read_text())
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def backend(database) -> str:
    return "sqlite" if database.startswith("sqlite") else "postgresql"


class ServerLikeClient(FlaskClient):
    """Waits, after every request, for the work the app does after its answer
    (mail delivery, see webapp/deferred.py), so a test sees its effects."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        assert deferred.wait_idle(), "work after the response did not finish"
        return response


@pytest.fixture
def client(app):
    app.test_client_class = ServerLikeClient
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An app context with a request context, for flow tests (url_for, g)."""
    with app.test_request_context("/", base_url="http://localhost"):
        yield


def tenant(slug: str) -> Tenant:
    return db.session.scalar(select(Tenant).where(Tenant.slug == slug))


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "the page has no CSRF token field"
    return match.group(1)


def submit(client, page: str, data: dict, action: str | None = None, headers=None, **kwargs):
    """Open `page`, then post `data` (plus the page's CSRF token) to `action` or
    back to the page, as a browser with JavaScript off would."""
    html = client.get(page, headers={"Accept-Language": "lt"}).get_data(as_text=True)
    payload = {"csrf_token": csrf_from(html), **data}
    return client.post(action or page, data=payload, headers=headers or {}, **kwargs)


def outbox(app, to: str | None = None) -> list[OutboxMessage]:
    with app.app_context():
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if to:
            query = query.where(OutboxMessage.recipient == to)
        messages = list(db.session.scalars(query))
        db.session.expunge_all()
        return messages


LINK_RE = re.compile(r"https?://\S+")


def link_in(message: OutboxMessage, marker: str) -> str:
    """The path of the first link in the plain-text body that contains `marker`."""
    for url in LINK_RE.findall(message.text_body):
        if marker in url:
            parts = urlsplit(url)
            return parts.path + (f"?{parts.query}" if parts.query else "")
    raise AssertionError(f"no link with {marker!r} in:\n{message.text_body}")


def account(app, slug: str, email: str) -> Account | None:
    with app.app_context():
        found = db.session.scalar(
            select(Account).join(Tenant).where(Tenant.slug == slug, Account.email == email)
        )
        db.session.expunge_all()
        return found


VELZIO_OK = {
    "first_name": "Ona",
    "last_name": "Onaitė",
    "email": "ona@example.com",
    "password": "Slapta123",
    "password2": "Slapta123",
    "phone": "861234567",
    "invoices_by_email": "y",
    "terms": "y",
}

ELEKTRUM_OK = {
    "first_name": "Jonas",
    "last_name": "Jonaitis",
    "company_code": "110053842",
    "email": "jonas@example.com",
    "is_customer": "yes",
    "contract_number": "4100012345",
}


def register_velzio(client, app, **changes) -> str:
    """Register and confirm a residential customer; return their email."""
    data = {**VELZIO_OK, **changes}
    response = submit(client, "/velzio/register", data)
    assert response.status_code == 303, response.get_data(as_text=True)
    message = outbox(app, data["email"])[-1]
    assert confirm(client, link_in(message, "/confirm/")).status_code == 303
    return data["email"]


def confirm(client, link: str, headers=None):
    """Open a confirmation link and press its button, as a person does (opening
    the link alone confirms nothing)."""
    return submit(client, link, {}, headers=headers)


def login(client, slug: str, email: str, password: str):
    return submit(client, f"/{slug}/", {"email": email, "password": password})


def expected(app, key: str, language: str = "lt", **params) -> str:
    """The message `key` as a page in `language` shows it (HTML-escaped)."""
    from flask_babel import force_locale
    from markupsafe import escape

    from webapp.messages import message

    with app.test_request_context("/"), force_locale(language):
        return str(escape(message(key, **params)))


def gettext_in(app, text: str, language: str = "lt", **params) -> str:
    """A template string (not a message key) in `language`, HTML-escaped."""
    from flask_babel import force_locale, gettext
    from markupsafe import escape

    with app.test_request_context("/"), force_locale(language):
        return str(escape(gettext(text, **params)))


def error_prefix(app, language: str = "lt") -> str:
    """The start of an error page's title: the translation of "Error: %(title)s"."""
    from flask_babel import force_locale, gettext

    with app.test_request_context("/"), force_locale(language):
        return gettext("Error: %(title)s", title="\x00").split("\x00")[0]


TITLE_RE = re.compile(r"<title>(.*?)</title>", re.S)


def title_of(html: str) -> str:
    match = TITLE_RE.search(html)
    assert match, "the page has no <title>"
    return match.group(1)


def htmx_post(client, url: str, data: dict, page: str, **headers):
    """Post as htmx would from `page`: HX-Request and the form's CSRF token."""
    html = client.get(page, headers={"Accept-Language": "lt"}).get_data(as_text=True)
    return client.post(
        url,
        data={"csrf_token": csrf_from(html), **data},
        headers={"HX-Request": "true", "Accept-Language": "lt", **headers},
    )


ELEKTRUM_PASSWORD = "Stipru5Slaptaz"


def register_elektrum(client, app, password: str = ELEKTRUM_PASSWORD, **changes) -> str:
    """Register a business customer and set the password from the emailed link."""
    data = {**ELEKTRUM_OK, **changes}
    response = submit(client, "/elektrum/register", data)
    assert response.status_code == 303, response.get_data(as_text=True)
    link = link_in(outbox(app, data["email"])[-1], "/activate/")
    response = submit(client, link, {"password": password, "password2": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    return data["email"]


def logout(client, slug: str):
    html = client.get(f"/{slug}/account/").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the account page has no logout form"
    return client.post(f"/{slug}/logout", data={"csrf_token": match.group(1)})


def without_csrf(html: str) -> str:
    """A page with its CSRF token values removed, to compare two sessions' pages."""
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+"', r'\1"', html)

"""Fixtures only: an app on a migrated database (SQLite always, PostgreSQL too
when TEST_DATABASE_URL is set), a client, and the demo tenants. The steps a
person (or an email client) takes are in tests/support/."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import OperationalError
from support.apps import CONTRACTS_FILE, TENANTS_FILE, ServerLikeClient, base_config

from webapp import create_app, deferred
from webapp.config import PROJECT_ROOT, database_url
from webapp.contracts import import_contracts
from webapp.extensions import db
from webapp.models import Tenant
from webapp.tenants import load_tenants, settings_for

TABLES = (
    "staff_logins",
    "staff_tokens",
    "staff_roles",
    "staff",
    "funnel_days",
    "oidc_tokens",
    "oidc_codes",
    "oidc_consents",
    "oidc_subjects",
    "oidc_keys",
    "oidc_clients",
    "webhook_deliveries",
    "webhook_endpoints",
    "jobs",
    "audit_events",
    "login_sessions",
    "recovery_codes",
    "totp_factors",
    "passkeys",
    "outbox",
    "tokens",
    "contract_imports",
    "contract_uploads",
    "contracts",
    "accounts",
    "tenants",
)

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def pytest_report_header(config):
    storages = "memory" + (", redis" if os.environ.get("TEST_REDIS_URL") else "")
    return [f"database backends: {', '.join(BACKENDS)}", f"rate-limit storage: {storages}"]


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
        # Work the last tests left running after their answers (deferred.py:
        # mail, jobs, funnel counts) ends first: a DROP while a transaction of
        # it writes two tables deadlocked once (seen in `make test`).
        deferred.wait_idle()
        for attempt in range(3):
            try:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                break
            except OperationalError:
                if attempt == 2:
                    raise
                time.sleep(1)
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


@pytest.fixture
def client(app):
    app.test_client_class = ServerLikeClient
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An app context with a request context, for flow tests (url_for, g)."""
    with app.test_request_context("/", base_url="http://localhost"):
        yield

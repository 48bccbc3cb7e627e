"""The app as the suites build it: the data files, the test configuration, and
a test client that behaves like a server (it waits for the work after the answer)."""

from __future__ import annotations

import uuid
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select

from webapp import deferred
from webapp.config import PROJECT_ROOT
from webapp.extensions import db
from webapp.models import Tenant

TENANTS_FILE = PROJECT_ROOT / "data" / "tenants.toml"
CONTRACTS_FILE = PROJECT_ROOT / "data" / "elektrum-contracts.csv"


def base_config(tmp_path: Path, url: str, **overrides) -> dict:
    """The configuration every test app starts from, on the database at `url`."""
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
        # Tests never ask the Internet whether a password was breached: the
        # tests of that check serve the range API themselves (support/range_api.py).
        "BREACHED_PASSWORDS_URL": "",
        # Funnel counts written as soon as a thread is free, so a test that
        # waits for the work after its answers sees them (test_funnel.py
        # gathers them over time too).
        "FUNNEL_FLUSH_SECONDS": 0,
        **overrides,
    }


class ServerLikeClient(FlaskClient):
    """Waits, after every request, for the work the app does after its answer
    (mail delivery, see webapp/deferred.py), so a test sees its effects."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        assert deferred.wait_idle(), "work after the response did not finish"
        return response


def production_app(database: str, tmp_path: Path, **overrides):
    """An app in production mode on `database` (tenants already loaded by the
    `app` fixture), at https://savitarna.example, without the mailbox."""
    from webapp import create_app

    app = create_app(
        {
            **base_config(tmp_path, database),
            "APP_ENV": "production",
            "MAILBOX_ENABLED": False,
            "PUBLIC_URL": "https://savitarna.example",
            **overrides,
        }
    )
    app.test_client_class = ServerLikeClient
    return app


def tenant(slug: str) -> Tenant:
    """The tenant `slug` (inside an app context)."""
    return db.session.scalar(select(Tenant).where(Tenant.slug == slug))

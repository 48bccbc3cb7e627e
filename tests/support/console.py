"""A staff member at the console's pages, with their own browser (a test
client): made with a role at a utility, logged in with the password and an
authenticator code, then pressing the pages' buttons."""

from __future__ import annotations

import itertools

import pyotp

from webapp.console.flows import add_staff
from webapp.console.models import Staff
from webapp.extensions import db
from webapp.factors.secrets import seal
from webapp.models import utcnow
from webapp.security import hash_password

from .apps import tenant
from .forms import csrf_from

PASSWORD = "Konsole-Slaptas-42"
_numbers = itertools.count(1)


class ConsoleUser:
    """agent = ConsoleUser(app, "velzio", "support"); agent.log_in()
    agent.press("/console/velzio/customers/1", "/console/velzio/customers/1/block", reason="…")"""

    def __init__(self, app, slug: str, role: str):
        self.app, self.slug, self.role = app, slug, role
        self.client = app.test_client()
        self.email = f"staff{next(_numbers)}@{slug}.example"
        self.key = pyotp.random_base32()
        with app.app_context():
            staff, _invited = add_staff(self.email, tenant=tenant(slug), role=role, name="Rūta")
            staff.password_hash = hash_password(PASSWORD)
            staff.password_set_at = utcnow()
            staff.totp_secret = seal(self.key)
            staff.totp_confirmed_at = utcnow()
            db.session.commit()
            self.id = staff.id

    @property
    def actor(self) -> str:
        return f"staff:{self.id}"

    def log_in(self) -> ConsoleUser:
        page = self.client.get("/console/login").get_data(as_text=True)
        answer = self.client.post(
            "/console/login",
            data={"csrf_token": csrf_from(page), "email": self.email, "password": PASSWORD},
        )
        assert answer.status_code == 303, answer.get_data(as_text=True)
        page = self.client.get("/console/login/code").get_data(as_text=True)
        answer = self.client.post(
            "/console/login/code",
            data={"csrf_token": csrf_from(page), "code": pyotp.TOTP(self.key).now()},
        )
        assert answer.status_code == 303 and answer.headers["Location"] == "/console/"
        return self

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def press(self, page: str, action: str, data: dict | None = None, **kwargs):
        """Post a form of `page` to `action`, with the page's CSRF token."""
        html = self.client.get(page).get_data(as_text=True)
        return self.client.post(
            action, data={"csrf_token": csrf_from(html), **(data or {})}, **kwargs
        )

    def staff(self) -> Staff:
        with self.app.app_context():
            found = db.session.get(Staff, self.id)
            db.session.expunge_all()
            return found

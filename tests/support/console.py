"""A staff member pressing the console's buttons: the console's login steps
are tests/support/staff.py's StaffMember; this adds the audit actor and a
post of a page's form (with that page's CSRF token)."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from webapp.console.models import Staff
from webapp.extensions import db

from .forms import csrf_from
from .staff import StaffMember

_numbers = itertools.count(1)


class ConsoleUser(StaffMember):
    """agent = ConsoleUser(app, "velzio", "support").log_in()
    agent.press(page, page + "/block", {"block-reason": "…"})"""

    def __init__(self, app, slug: str, role: str):
        email = f"staff{next(_numbers)}@{slug}.example"
        super().__init__(app.test_client(), app, email, tenant=slug, role=role)

    def log_in(self) -> ConsoleUser:
        """Invited, password saved, app set up: logged in."""
        self.join()
        with self.app.app_context():
            self.id = db.session.scalar(select(Staff.id).where(Staff.email == self.email))
        return self

    @property
    def actor(self) -> str:
        return f"staff:{self.id}"

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def press(self, page: str, action: str, data: dict | None = None, **kwargs):
        """Post a form of `page` to `action`, with the page's CSRF token."""
        html = self.client.get(page).get_data(as_text=True)
        return self.client.post(
            action, data={"csrf_token": csrf_from(html), **(data or {})}, **kwargs
        )

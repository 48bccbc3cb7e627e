"""The staff console in Chromium: a newcomer's invitation, password and
authenticator app, then the customer search as they type (htmx) and, with
JavaScript off, with the Search button; keyboard only, at 320 px."""

from __future__ import annotations

import re
import uuid

import pyotp
import pytest
from babel.support import Translations
from playwright.sync_api import expect
from sqlalchemy import select
from support.mail import link_in

from webapp.config import PROJECT_ROOT
from webapp.console.flows import add_staff
from webapp.extensions import db
from webapp.models import Account, OutboxMessage, Tenant

from .pages import t

pytestmark = pytest.mark.e2e
PASSWORD = "Konsole-Slapta-2026"


def _invite(live_server) -> tuple[str, str]:
    """A new support member of Velžio's staff and a customer to find: (email, link)."""
    email = f"staff-{uuid.uuid4().hex[:8]}@velzio.lt"
    with live_server.app.app_context():
        velzio = db.session.scalar(select(Tenant).where(Tenant.slug == "velzio"))
        add_staff(email, tenant=velzio, role="support", name="Rasa Petraitė")
        db.session.add(
            Account(
                tenant_id=velzio.id,
                email=f"jonas-{email}",
                first_name="Jonas",
                last_name="Žemaitis",
            )
        )
        db.session.commit()
        message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == email))
        text = message.text_body
        db.session.remove()
    return email, link_in(text, "/console/set-password/", full_url=True)


def _join(page, link: str) -> None:
    """Open the link, choose the password and set up the app, keyboard only."""
    page.goto(link)
    page.get_by_label(t("New password", "lt")).fill(PASSWORD)
    page.get_by_label(t("Repeat new password", "lt")).fill(PASSWORD)
    page.keyboard.press("Enter")
    key = page.locator("code.secret-key").inner_text().replace(" ", "")
    code = page.get_by_label(t("Code from the app", "lt"))
    code.fill(pyotp.TOTP(key).now())
    code.press("Enter")
    expect(page.get_by_role("heading", name=t("Utilities", "lt"))).to_be_visible()


def _fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width


def test_search_as_you_type(page, live_server):
    page.set_viewport_size({"width": 320, "height": 640})
    email, link = _invite(live_server)
    _join(page, link)
    _fits(page)
    page.get_by_role("link", name=re.compile("Velžio")).click()
    search = page.get_by_label(t("Search customers", "lt"))
    search.press_sequentially("jonas-staff")
    # No button pressed: the results follow the typing.
    expect(page.get_by_role("cell", name=f"jonas-{email}")).to_be_visible()
    found = Translations.load(str(PROJECT_ROOT / "translations"), ["lt"])
    expect(page.locator("#result-count")).to_have_text(
        found.ngettext("%(num)d customer found", "%(num)d customers found", 1) % {"num": 1}
    )
    # The address follows too (back and reload keep the search).
    expect(page).to_have_url(re.compile(r"\?q=jonas-staff"))
    _fits(page)
    page.get_by_role("link", name="Jonas Žemaitis").click()
    expect(page.get_by_role("heading", name="Jonas Žemaitis")).to_be_visible()


def test_search_without_javascript(page_nojs, live_server):
    email, link = _invite(live_server)
    _join(page_nojs, link)
    page_nojs.goto(live_server("/console/velzio/customers"))
    page_nojs.get_by_label(t("Search customers", "lt")).fill("Žemait")
    page_nojs.get_by_role("button", name=t("Search", "lt")).click()
    expect(page_nojs.get_by_role("cell", name=f"jonas-{email}")).to_be_visible()

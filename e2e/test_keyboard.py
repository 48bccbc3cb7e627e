"""Issues #11 and #12 promise keyboard-only use. In Chromium at phone size,
with Tab, Shift+Tab, typing, Enter and Space alone (the focus ring checked at
every stop): a customer goes from the account page to "Security and privacy",
logs another device out, downloads their data and reads it on its page, asks
for the account's deletion with the password, and cancels it from the banner;
a staff member logs in to the console (email, password, code), searches,
opens a customer and blocks then unblocks them, each with a reason."""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import quote

import pyotp
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from support.mail import link_in

from webapp.console.flows import add_staff
from webapp.extensions import db
from webapp.messages import MESSAGES
from webapp.models import Account, OutboxMessage, Tenant

from .pages import PASSWORD, Ui, label, t
from .test_accessibility import _tab_to

pytestmark = pytest.mark.e2e
STAFF_PASSWORD = "Konsole-Slapta-2026"


def lt(msgid: str, **params) -> str:
    return t(msgid, "lt", **params)


def notice(key: str) -> str:
    """A flashed message (webapp/messages.py) as the catalogue gives it in Lithuanian."""
    return lt(MESSAGES[key]._args[0])


def _press(page: Page, key: str) -> None:
    """Press a key that sends a form, and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press(key)


def _follow(page: Page, link, most: int = 40) -> None:
    """Tab to a link and follow it with Enter."""
    _tab_to(page, link, most=most)
    _press(page, "Enter")


def test_customer_security_and_privacy_with_the_keyboard_alone(page, live_server):
    ui = Ui(page, live_server, "velzio", "lt")
    email = ui.register_residential("keys-privacy")
    heading = page.get_by_role("heading", level=1)
    # Logged in on a second device too, for the devices' list to offer a way out.
    other = page.context.browser.new_context(locale="lt-LT")
    try:
        there = Ui(other.new_page(), live_server, "velzio", "lt")
        there.open("/")
        there.log_in(email, PASSWORD)
        there.expect_account_page()
    finally:
        other.close()

    _follow(page, page.get_by_role("link", name=ui.t("Security and privacy"), exact=True))
    expect(heading).to_have_text(ui.t("Security and privacy"))
    _follow(page, page.get_by_role("button", name=ui.t("Log out everywhere else")))
    expect(page.get_by_text(notice("SESSIONS_ENDED"))).to_be_visible()
    expect(page.get_by_text(ui.t("You are not logged in anywhere else."))).to_be_visible()

    # Download my data: the file with Enter, then the page to read.
    with page.expect_download() as waiting:
        _tab_to(page, page.get_by_role("link", name=ui.t("Download (JSON file)")), most=40)
        page.keyboard.press("Enter")
    assert waiting.value.suggested_filename == "velzio-my-data.json"
    _follow(page, page.get_by_role("link", name=ui.t("Read it on a page")), most=1)
    expect(heading).to_have_text(ui.t("My data"))
    expect(page.get_by_text(email).first).to_be_visible()
    _follow(page, page.get_by_role("link", name=ui.t("Back to security and privacy")), most=80)
    expect(heading).to_have_text(ui.t("Security and privacy"))

    _follow(page, page.get_by_role("link", name=ui.t("Delete my account"), exact=True))
    expect(heading).to_have_text(ui.t("Delete my account"))
    _tab_to(page, page.get_by_label(label(ui.t("Your password"))), most=20)
    page.keyboard.type(PASSWORD)
    _press(page, "Enter")
    expect(heading).to_have_text(ui.t("Security and privacy"))
    expect(page.get_by_text(notice("DELETION_REQUESTED"))).to_be_visible()

    # The banner: reached with Tab, its button pressed with Space.
    banner = page.locator(".deletion-banner")
    expect(banner).to_be_visible()
    cancel = banner.get_by_role("button", name=ui.t("Cancel the deletion"))
    _tab_to(page, cancel, most=20)
    _press(page, "Space")
    expect(heading).to_have_text(ui.t("Security and privacy"))
    expect(page.get_by_text(notice("DELETION_CANCELLED"))).to_be_visible()
    expect(page.get_by_role("button", name=ui.t("Cancel the deletion"))).to_have_count(0)
    # And the deletion can be asked again: the page offers it once more.
    expect(page.get_by_role("link", name=ui.t("Delete my account"), exact=True)).to_be_visible()


def _invite(server) -> tuple[str, str, str, str]:
    """A support member of Velžio's staff (email, invitation link), a customer
    of Velžio to find (email), and the utility's name."""
    staff = f"staff-keys-{uuid.uuid4().hex[:8]}@velzio.lt"
    customer = f"ona-keys-{uuid.uuid4().hex[:8]}@example.com"
    with server.app.app_context():
        velzio = db.session.scalar(select(Tenant).where(Tenant.slug == "velzio"))
        add_staff(staff, tenant=velzio, role="support", name="Rasa Petraitė")
        db.session.add(
            Account(tenant_id=velzio.id, email=customer, first_name="Ona", last_name="Klaviatūrė")
        )
        db.session.commit()
        invitation = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.recipient == staff)
        )
        text, name = invitation.text_body, velzio.name
        db.session.remove()
    return staff, link_in(text, "/console/set-password/", full_url=True), customer, name


def _code_field(page: Page):
    return page.get_by_label(label(lt("Code from the app")))


def _join(page: Page, link: str) -> pyotp.TOTP:
    """The invitation: a password, then the authenticator app; keys only."""
    page.goto(link)
    _tab_to(page, page.get_by_label(label(lt("New password"))), most=20)
    page.keyboard.type(STAFF_PASSWORD)
    _tab_to(page, page.get_by_label(label(lt("Repeat new password"))), most=3)
    page.keyboard.type(STAFF_PASSWORD)
    _press(page, "Enter")
    app = pyotp.TOTP(page.locator("code.secret-key").inner_text().replace(" ", ""))
    _tab_to(page, _code_field(page), most=30)
    page.keyboard.type(app.now())
    _press(page, "Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(lt("Utilities"))
    return app


def _act(page: Page, button: str, reason: str) -> None:
    """Tab to the reason of the action titled `button`, type it, Tab to its button, Enter."""
    form = page.locator("form").filter(has=page.get_by_role("heading", name=lt(button)))
    _tab_to(page, form.get_by_label(label(lt("Reason"))), most=40)
    page.keyboard.type(reason)
    _tab_to(page, form.get_by_role("button", name=lt(button)), most=1)
    _press(page, "Enter")
    expect(page.get_by_role("status").first).to_have_text(notice("CONSOLE_DONE"))


def test_staff_console_with_the_keyboard_alone(page, live_server):
    staff, link, customer, utility = _invite(live_server)
    app = _join(page, link)
    heading = page.get_by_role("heading", level=1)

    # Log out, and in again: email, password, then a code (the next one: each
    # code is taken once).
    _tab_to(page, page.get_by_role("button", name=lt("Log out")), most=20)
    _press(page, "Enter")
    expect(heading).to_have_text(lt("Log in to the staff console"))
    _tab_to(page, page.get_by_label(label(lt("Email address"))), most=20)
    page.keyboard.type(staff)
    _tab_to(page, page.get_by_label(label(lt("Password"))), most=3)
    page.keyboard.type(STAFF_PASSWORD)
    _press(page, "Enter")
    expect(heading).to_have_text(lt("Enter the code from your authenticator app"))
    _tab_to(page, _code_field(page), most=20)
    page.keyboard.type(app.at(time.time() + 30))
    _press(page, "Enter")
    expect(heading).to_have_text(lt("Utilities"))

    # The utility, its search, a result.
    _follow(page, page.get_by_role("link", name=re.compile("Velžio")), most=20)
    expect(heading).to_have_text(lt("Customers of %(name)s", name=utility))
    search = page.get_by_label(lt("Search customers"))
    _tab_to(page, search, most=20)
    page.keyboard.type(customer)
    result = page.get_by_role("link", name="Ona Klaviatūrė")
    expect(result).to_have_count(1)
    # The results follow the typing, and so does the address.
    expect(page).to_have_url(re.compile(r"\?q=" + re.escape(quote(customer))))
    _follow(page, result, most=10)
    expect(heading).to_have_text("Ona Klaviatūrė")
    # "Skip to content", the first stop, leads past the header and its menu:
    # the next Tab is the first action's reason.
    skip = page.get_by_role("link", name=lt("Skip to content"))
    _tab_to(page, skip, most=1)
    page.keyboard.press("Enter")
    _tab_to(page, page.get_by_label(label(lt("Reason"))).first, most=1)

    # Blocked and unblocked, each with its reason.
    _act(page, "Block the account", "Suspicious logins reported, ticket 4412")
    expect(page.get_by_text(lt("Blocked"), exact=True).first).to_be_visible()
    _act(page, "Unblock the account", "Identity checked in person, ticket 4412")
    expect(page.get_by_text(lt("Blocked"), exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name=lt("Block the account"))).to_be_visible()

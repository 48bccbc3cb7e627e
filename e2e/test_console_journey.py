"""Issue #12's "done when", in Chromium at phone size: a staff member added
with `flask staff add` (admin at Velžio, and at Elektrum, whose contract
registry the console imports) sets a password, logs in with it and an
authenticator code, finds a customer who registered through the public page
a minute earlier, sends their email again with a reason, blocks and unblocks
them with reasons (the audit trail shows both), has a registry file with one
bad row refused by line, and reads the funnel showing that registration.
Screenshots of each console page go to docs/screenshots/console-*.png."""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta

import pyotp
import pytest
from playwright.sync_api import expect
from support.mail import link_in

from webapp import deferred
from webapp.models import utcnow

from .conftest import PHONE, screenshot_folder
from .pages import Ui, label, mailbox, t, unique_email
from .test_accessibility import AXE_FILE, Tour

pytestmark = pytest.mark.e2e
STAFF_PASSWORD = "Konsole-Slapta-2026"
# Elektrum's registry: a good row, then one whose company code fails its check digit.
REGISTRY = (
    b"contract_number,company_code,status\n"
    b"4100012345,110053842,active\n"
    b"4100000003,110053843,active\n"
)


@pytest.fixture
def server(live_server_factory):
    """A server of this test's own, so the funnel's counts are this journey's."""
    return live_server_factory()


def lt(msgid: str, **params) -> str:
    return t(msgid, "lt", **params)


class Pages:
    """Each console page on the way: its screenshot at 390 px, then the
    accessibility tour's checks (axe at 320 px and desktop width, no sideways
    scrolling, big enough buttons); every problem is kept for the end."""

    def __init__(self, page):
        page.context.add_init_script(path=str(AXE_FILE))
        self.page, self.tour = page, Tour(page)

    def check(self, name: str, just_loaded: bool = True) -> None:
        self.page.screenshot(path=screenshot_folder() / f"console-{name}.png", full_page=True)
        self.tour.check(f"console {name}", just_loaded)
        self.page.set_viewport_size(PHONE)


def add_staff(server, email: str, slug: str) -> str:
    """The operator's command, as the README gives it; its output."""
    result = server.app.test_cli_runner().invoke(
        args=["staff", "add", email, "--tenant", slug, "--role", "admin", "--name", "Rasa Petraitė"]
    )
    assert result.exit_code == 0, result.output
    return result.output


def action_form(page, button: str):
    """One of the customer page's action forms, by the heading it carries."""
    return page.locator("form").filter(has=page.get_by_role("heading", name=lt(button)))


def act(page, button: str, reason: str) -> None:
    """Give the reason in that action's form and press its button."""
    form = action_form(page, button)
    form.get_by_label(label(lt("Reason"))).fill(reason)
    form.get_by_role("button", name=lt(button)).click()
    expect(page.get_by_role("status").first).to_have_text(
        lt("Done: the action is recorded in the audit log.")
    )


def test_a_staff_members_day(page, server):
    pages = Pages(page)
    # A customer registers at Velžio through the public page.
    customer = unique_email("ona-console")
    ui = Ui(page, server, "velzio", "lt")
    ui.open("/register")
    ui.fill_residential(customer)
    ui.submit()
    ui.expect_sent(customer)
    assert [m["kind"] for m in mailbox(server, customer)] == ["confirm"]
    page.context.clear_cookies()

    # The operator adds Rasa as an admin at Velžio.
    staff = f"rasa-{uuid.uuid4().hex[:8]}@velzio.lt"
    assert "invitation emailed" in add_staff(server, staff, "velzio")
    [invitation] = mailbox(server, staff)

    # The invitation's link: a password, then the authenticator app.
    page.goto(link_in(invitation["text"], "/console/set-password/", full_url=True))
    page.get_by_label(label(lt("New password"))).fill(STAFF_PASSWORD)
    page.get_by_label(label(lt("Repeat new password"))).fill(STAFF_PASSWORD)
    page.get_by_role("button", name=lt("Save the password")).click()
    app = pyotp.TOTP(page.locator("code.secret-key").inner_text().replace(" ", ""))
    pages.check("set-up")
    page.get_by_label(label(lt("Code from the app"))).fill(app.now())
    page.get_by_label(label(lt("Code from the app"))).press("Enter")
    expect(page.get_by_role("heading", name=lt("Utilities"))).to_be_visible()
    # And at Elektrum too: a role more, no second invitation.
    assert "invitation emailed" not in add_staff(server, staff, "elektrum")
    assert len(mailbox(server, staff)) == 1

    # Log out, and in again: the password, then a code (the next one: each code
    # is taken once, and the one after now is accepted).
    page.get_by_role("button", name=lt("Log out")).click()
    page.get_by_label(label(lt("Email address"))).fill(staff)
    page.get_by_label(label(lt("Password"))).fill(STAFF_PASSWORD)
    pages.check("login", just_loaded=False)
    page.get_by_label(label(lt("Password"))).press("Enter")
    page.get_by_label(label(lt("Code from the app"))).fill(app.at(time.time() + 30))
    page.get_by_label(label(lt("Code from the app"))).press("Enter")
    expect(page.get_by_role("heading", name=lt("Utilities"))).to_be_visible()
    pages.check("home")

    # The customer, found by the search.
    page.get_by_role("link", name=re.compile("Velžio")).click()
    page.get_by_label(lt("Search customers")).fill(customer)
    page.get_by_label(lt("Search customers")).press("Enter")
    expect(page.get_by_role("cell", name=customer)).to_be_visible()
    pages.check("search")
    page.get_by_role("link", name="Ona Onaitė").click()
    expect(page.get_by_role("heading", name="Ona Onaitė", level=1)).to_be_visible()

    # Her confirmation email again, with a reason.
    act(page, "Send the confirmation email again", "Asked by phone: no email arrived")
    assert [m["kind"] for m in mailbox(server, customer)] == ["confirm", "confirm"]

    # Blocked and unblocked, each with its reason.
    act(page, "Block the account", "Suspicious logins reported, ticket 4411")
    expect(page.get_by_text(lt("Blocked"), exact=True).first).to_be_visible()
    expect(action_form(page, "Block the account")).to_have_count(0)
    act(page, "Unblock the account", "Identity checked in person, ticket 4411")
    events = page.get_by_role("region", name=lt("Recent events"))
    for event, reason in (
        ("Confirmation email sent again", "Asked by phone: no email arrived"),
        ("Account blocked", "Suspicious logins reported, ticket 4411"),
        ("Account unblocked", "Identity checked in person, ticket 4411"),
    ):
        row = events.get_by_role("row").filter(has_text=reason)
        expect(row).to_have_count(1)
        expect(row.get_by_role("cell", name=lt(event), exact=True)).to_be_visible()
        expect(
            row.get_by_role("cell", name=lt("staff: %(name)s", name="Rasa Petraitė"))
        ).to_be_visible()
    pages.check("customer")

    # Elektrum's contract registry: a file with one bad row is refused by its line.
    page.get_by_role("link", name=lt("Utilities")).click()
    page.get_by_role("link", name=re.compile("Elektrum")).click()
    page.get_by_role("link", name=lt("Contract registry")).click()
    page.get_by_label(label(lt("CSV file"))).set_input_files(
        files=[{"name": "registras.csv", "mimeType": "text/csv", "buffer": REGISTRY}]
    )
    page.get_by_role("button", name=lt("Preview")).click()
    expect(page.get_by_role("alert")).to_contain_text(
        lt("The file cannot be imported: see the lines below.")
    )
    problem = lt("company code “%(code)s” is not a valid 9-digit code", code="110053843")
    expect(page.get_by_role("listitem").filter(has_text=problem)).to_have_text(
        lt("Line %(line)d: %(reason)s", line=3, reason=problem)
    )
    expect(page.get_by_role("button", name=lt("Apply this file"))).to_have_count(0)
    pages.check("registry")

    # Velžio's funnel: the registration of a minute ago.
    page.get_by_role("link", name=lt("Utilities")).click()
    page.get_by_role("link", name=re.compile("Velžio")).click()
    page.get_by_role("link", name=lt("Registration funnel")).click()
    page.get_by_role("radio", name=lt("Last 7 days")).check()
    page.get_by_role("radio", name=lt("By day")).check()
    assert deferred.wait_idle()
    page.get_by_role("button", name=lt("Show")).click()
    expect(page).to_have_url(re.compile(r"/console/velzio/funnel\?days=7&by=day$"))
    today = utcnow().date()
    caption = lt(
        "Registration funnel by day, %(start)s to %(end)s",
        start=(today - timedelta(days=6)).isoformat(),
        end=today.isoformat(),
    )
    table = page.get_by_role("table", name=re.compile("^" + re.escape(caption)))
    total = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=lt("Total")))
    expect(total.get_by_role("cell")).to_have_text(
        [re.compile(rf"^{n}\b") for n in (1, 1, 1, 0, 0, 0)]
    )
    with page.expect_download() as download:
        page.get_by_role("link", name=lt("Download as CSV")).click()
    assert download.value.suggested_filename.startswith("funnel-velzio-day-")
    pages.check("funnel", just_loaded=False)
    assert not pages.tour.problems, "\n".join(pages.tour.problems)

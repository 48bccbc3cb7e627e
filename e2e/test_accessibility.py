"""Accessibility: every page of both tenants, in both languages, at a 320 px
phone and a desktop width, checked by axe-core with zero violations allowed;
no horizontal scrolling at 320 px; main buttons at least 44×44 px. And one
registration of each profile done with the keyboard alone.

axe-core is vendored (e2e/vendor/, version and hash in its README) and given to
each page by Playwright as an init script: `add_script_tag` would insert an
inline <script>, which the app's CSP rightly refuses, whereas an init script is
not subject to the page's CSP. Nothing is fetched at run time."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect
from support.mail import link_in

from webapp import deferred

from .conftest import LiveServer
from .pages import LANGUAGES, PASSWORD, Ui, mailbox, unique_email

pytestmark = pytest.mark.e2e

VENDOR = Path(__file__).parent / "vendor"
AXE_FILE = VENDOR / "axe-core-4.14.1.min.js"
AXE_SHA384 = "xt1SFg49QaDwsyt0Xfs2XAyBtYPClXl3X2q5OOLeGAUmq9jZTYIMdztpF99WdhiH"

SIZES = {"phone": {"width": 320, "height": 640}, "desktop": {"width": 1280, "height": 800}}
# Every rule axe tags WCAG 2.0/2.1/2.2 A or AA, or best practice, including the
# ones axe leaves off by default (target-size, WCAG 2.2's 2.5.8) and its
# experimental ones; plus the duplicate-id rules (WCAG dropped 4.1.1, but
# aria-describedby and label[for] still need ids to be unique). No rule is
# disabled and no element is excluded.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
AXE_EXTRA_RULES = ["duplicate-id", "duplicate-id-active"]
AXE_RUN = """async ([tags, extra]) => {
  const rules = axe.getRules(tags).map(rule => rule.ruleId).concat(extra);
  const result = await axe.run(document, {runOnly: {type: "rule", values: rules},
                                          resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(" ") + " :: " + n.failureSummary.replace(/\\s+/g, " "))
  }));
}"""
# Main buttons: what a person taps to move on (submit, register, log out...).
MAIN_BUTTONS = ".button"


@pytest.fixture(scope="module")
def a11y_server(live_server_factory) -> LiveServer:
    """An app of its own, rate limits off: a tour posts more forms from one
    address than the limits allow, and limits are not what is tested here."""
    return live_server_factory(RATELIMIT_ENABLED=False)


def test_axe_is_the_vendored_version():
    digest = base64.b64encode(hashlib.sha384(AXE_FILE.read_bytes()).digest()).decode()
    assert digest == AXE_SHA384, f"{AXE_FILE.name} is not the file recorded in vendor/README.md"


@pytest.fixture
def axe_page(browser: Browser) -> Iterator[Page]:
    """A fresh context (no cookies) with axe-core in every document."""
    context = browser.new_context(viewport=SIZES["phone"], locale="lt-LT")
    context.set_default_timeout(10_000)
    context.add_init_script(path=str(AXE_FILE))
    page = context.new_page()
    yield page
    context.close()


@dataclass
class Tour:
    """Checks the current page at each size and keeps every problem found, so
    one run reports all of them rather than the first."""

    page: Page
    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def check(self, name: str, just_loaded: bool = True) -> None:
        """`just_loaded`: nothing has been done on the page since it loaded."""
        page = self.page
        expect(page.locator("h1")).to_have_count(1)
        self._page_structure(f"{name} ({page.url})", just_loaded)
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            where = f"{name} @ {size} ({page.url})"
            for violation in page.evaluate(AXE_RUN, [AXE_TAGS, AXE_EXTRA_RULES]):
                self.problems.append(
                    f"{where}: axe {violation['id']} ({violation['impact']}): {violation['help']}\n"
                    + "\n".join("    " + node for node in violation["nodes"])
                )
            if size == "phone":
                self._no_horizontal_scroll(where)
                self._header_in_one_row(where)
            self._main_buttons_big_enough(where)
            self.checked.append(f"{name} @ {size}")
        page.set_viewport_size(SIZES["phone"])

    def _page_structure(self, where: str, just_loaded: bool) -> None:
        """What axe cannot know: the live region is there before any swap, the
        error summary has the focus and each of its links leads to a control."""
        if self.page.locator("#live-region[aria-live]").count() != 1:
            self.problems.append(f"{where}: no live region in the page as served")
        summary = self.page.locator("#error-summary")
        if summary.count():
            if just_loaded and not summary.evaluate("e => e === document.activeElement"):
                self.problems.append(f"{where}: the error summary does not have the focus")
            for href in summary.locator("a").evaluate_all("links => links.map(a => a.hash)"):
                target = self.page.locator(f"[id='{href[1:]}']")
                if target.count() != 1 or not target.evaluate("e => e.matches('input, select')"):
                    self.problems.append(f"{where}: error summary link {href} leads nowhere")
        small = self.page.evaluate(
            "() => [...document.querySelectorAll('input, select, textarea')]"
            ".filter(e => !['hidden', 'checkbox', 'radio'].includes(e.type) && e.offsetParent)"
            ".filter(e => parseFloat(getComputedStyle(e).fontSize) < 16).map(e => e.id)"
        )
        if small:
            self.problems.append(f"{where}: text under 16 px in {small} (phones zoom in)")

    def _no_horizontal_scroll(self, where: str) -> None:
        widths = self.page.evaluate(
            "() => { const e = document.scrollingElement; return [e.scrollWidth, e.clientWidth]; }"
        )
        if widths[0] > widths[1]:
            wide = self.page.evaluate(
                "() => { const width = document.documentElement.clientWidth;"
                " return [...document.querySelectorAll('body *')]"
                ".filter(e => e.getBoundingClientRect().right > width)"
                ".slice(0, 5).map(e => e.tagName + '.' + e.className); }"
            )
            self.problems.append(f"{where}: scrolls sideways {widths}: {wide}")

    def _header_in_one_row(self, where: str) -> None:
        """The language switch sits beside the product name, not under it."""
        brand = self.page.locator(".site-header .brand").bounding_box()
        languages = self.page.locator(".site-header .languages").bounding_box()
        if languages["y"] >= brand["y"] + brand["height"]:
            self.problems.append(f"{where}: the header wraps onto a second row")

    def _main_buttons_big_enough(self, where: str) -> None:
        buttons = self.page.locator(MAIN_BUTTONS)
        for index in range(buttons.count()):
            button = buttons.nth(index)
            if not button.is_visible():
                continue
            box = button.bounding_box()
            if box["width"] < 44 or box["height"] < 44:
                self.problems.append(
                    f"{where}: main button {button.inner_text()!r} is "
                    f"{box['width']:.0f}×{box['height']:.0f} px, under 44×44"
                )


def _newest_link(server: LiveServer, email: str, kind: str, marker: str) -> str:
    assert deferred.wait_idle(), "work after the response did not finish"
    messages = [m for m in mailbox(server, email) if m["kind"] == kind]
    assert messages, f"no {kind} email for {email}"
    return link_in(messages[0]["text"], marker, full_url=True)


def _submit(page: Page, name: str, status: int) -> None:
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=name, exact=True).click()
    assert navigation.value.status == status, navigation.value.url


def _common_pages(tour: Tour, ui: Ui, email: str, visit: Callable[[str, str], None]) -> None:
    """Pages both profiles have: forgot, its 'check your email', the reset link
    valid and invalid, resend, rules, 404, and the expired form."""
    page = ui.page
    visit("/resend", "resend")
    visit("/forgot", "forgot")
    ui.field("email").fill(email)
    _submit(page, ui.t("Send the link"), 200)
    tour.check("forgot: check your email")
    page.goto(_newest_link(ui.server, email, "reset", "/reset/"))
    tour.check("reset link")
    _submit(page, ui.labels["confirm"], 422)
    tour.check("reset link with errors")
    visit("/reset/not-a-token", "reset link invalid")
    visit("/rules", "rules")
    response = ui.open("/no-such-page")
    assert response.status == 404
    tour.check("404")
    ui.open("/forgot")
    page.context.clear_cookies()
    ui.field("email").fill(email)
    _submit(page, ui.t("Send the link"), 400)
    tour.check("expired form")


def _privacy_pages(tour: Tour, ui: Ui, email: str, visit: Callable[[str, str], None]) -> None:
    """Security and privacy: the page, the data to read, deleting the account
    (with errors, then asked for: the banner), the emailed cancel link and
    the account kept again."""
    page = ui.page
    visit("/account/privacy/", "security and privacy")
    visit("/account/privacy/download", "my data")
    visit("/account/privacy/delete", "delete account")
    _submit(page, ui.t("Delete my account"), 422)
    tour.check("delete account with errors")
    page.get_by_label(re.compile("^" + re.escape(ui.t("Your password")))).fill(PASSWORD)
    _submit(page, ui.t("Delete my account"), 200)
    tour.check("deletion asked for (banner)")
    page.goto(_newest_link(ui.server, email, "deletion_requested", "/delete/cancel/"))
    tour.check("cancel deletion link")
    _submit(page, ui.t("Cancel the deletion"), 200)
    tour.check("deletion cancelled (notice)")


def _tour(page: Page, server: LiveServer, tenant: str, lang: str) -> Tour:
    tour = Tour(page)
    ui = Ui(page, server, tenant, lang)

    def visit(path: str, name: str) -> None:
        response = ui.open(path)
        assert response.status < 500, (path, response.status)
        tour.check(name)

    if tenant == "velzio":
        page.goto(server("/" if lang == "lt" else f"/?lang={lang}"))
        tour.check("tenant list")
    visit("/", "login")
    visit("/register", "register")
    _submit(page, ui.labels["register"], 422)
    tour.check("register with errors")
    email = unique_email(f"a11y-{tenant}-{lang}")
    if tenant == "velzio":
        ui.fill_residential(email)
        _submit(page, ui.labels["register"], 200)
        tour.check("register: check your email")
        visit("/confirm/not-a-token", "confirm link invalid")
        page.goto(_newest_link(server, email, "confirm", "/confirm/"))
        tour.check("confirm link")
        ui.confirm_email()
        tour.check("login after confirming (notice)")
        ui.log_in(email, PASSWORD, status=200)
    else:
        ui.field("yes").check()
        expect(page.locator("#contract-region")).to_have_attribute("data-state", "yes")
        tour.check("register, customer: yes", just_loaded=False)
        ui.field("no").check()
        expect(page.locator("#contract-region")).to_have_attribute("data-state", "no")
        tour.check("register, customer: no", just_loaded=False)
        ui.fill_business(email, customer=False)
        _submit(page, ui.labels["register"], 200)
        tour.check("register: check your email")
        visit("/activate/not-a-token", "activate link invalid")
        page.goto(_newest_link(server, email, "activate", "/activate/"))
        tour.check("activate link")
        _submit(page, ui.labels["confirm"], 422)
        tour.check("activate link with errors")
        ui.set_new_password(PASSWORD)
        ui.set_up_second_factor(check=tour.check)
    ui.expect_account_page()
    tour.check("account (notice)")
    visit("/account/security", "ways to log in")
    if tenant == "velzio":  # elektrum's was set up above, on its way in
        visit("/account/security/authenticator", "authenticator app set-up")
    visit("/account/apps", "connected apps")
    visit("/account/password", "password change")
    _submit(page, ui.t("Change password"), 422)
    tour.check("password change with errors")
    _privacy_pages(tour, ui, email, visit)
    ui.open("/account/")
    with page.expect_navigation():
        page.get_by_role("button", name=ui.t("Log out")).click()
    tour.check("login after logging out (notice)")
    _common_pages(tour, ui, email, visit)
    return tour


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("tenant", ["velzio", "elektrum"])
def test_every_page_passes_axe_at_phone_and_desktop(axe_page, a11y_server, tenant, lang):
    tour = _tour(axe_page, a11y_server, tenant, lang)
    assert not tour.problems, f"{len(tour.problems)} problems:\n" + "\n".join(tour.problems)
    # The tour really went everywhere (a short tour would pass trivially).
    # Elektrum's tour also has its required second factor's set-up step and
    # recovery codes. Seven of them are the security and privacy pages.
    expected = 31 if tenant == "velzio" else 33
    pages = {name.split(" @ ")[0] for name in tour.checked}
    assert len(pages) == expected, sorted(pages)
    assert len(tour.checked) == expected * len(SIZES)
    print(f"\naxe: {tenant} {lang}: {len(tour.checked)} page × size checks, 0 violations")


def test_axe_reports_what_it_should(axe_page):
    """The checker itself can fail: a page with known faults gets them reported."""
    broken = (
        "<!doctype html><html><head><title>t</title></head><body><main><h1>x</h1>"
        "<input id='a'><input id='a'>"
        "<button style='width:12px;height:12px;padding:0'>1</button>"
        "<button style='width:12px;height:12px;padding:0'>2</button>"
        "<p style='color:#999'>faint</p></main></body></html>"
    )
    axe_page.route("http://broken.test/", lambda route: route.fulfill(body=broken))
    axe_page.goto("http://broken.test/")
    found = {v["id"] for v in axe_page.evaluate(AXE_RUN, [AXE_TAGS, AXE_EXTRA_RULES])}
    assert {"label", "duplicate-id-active", "target-size", "color-contrast"} <= found


def _focused(page: Page):
    return page.evaluate_handle("() => document.activeElement")


def _focus_is_visible(page: Page) -> bool:
    """The focused element draws the focus ring (outline, or the page's box-shadow)."""
    return page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)"
        " || s.boxShadow !== 'none'; }"
    )


def _tab_to(page: Page, target, backwards: bool = False, most: int = 12) -> None:
    """Press Tab (or Shift+Tab) until `target` has the focus, checking at each
    stop that the focus can be seen."""
    for _ in range(most):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        assert _focus_is_visible(page), page.evaluate("() => document.activeElement.outerHTML")
        if target.evaluate("e => e === document.activeElement"):
            return
    raise AssertionError(f"{target} not reached with {most} presses of Tab")


def test_registration_with_the_keyboard_alone_residential(axe_page, a11y_server):
    page, lang = axe_page, "lt"
    ui = Ui(page, a11y_server, "velzio", lang)
    email = unique_email("keys-velzio")
    ui.open("/register")
    for key, text in (
        ("first_name", "Ona"),
        ("last_name", "Onaitė"),
        ("email", email),
        ("password", PASSWORD),
    ):
        _tab_to(page, ui.field(key))
        page.keyboard.type(text)
    # The show/hide control comes right after the password, and works with Space.
    toggle = page.get_by_role("button", name=ui.t("Show password")).first
    _tab_to(page, toggle, most=1)
    page.keyboard.press("Space")
    expect(ui.field("password")).to_have_attribute("type", "text")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Space")
    expect(ui.field("password")).to_have_attribute("type", "password")
    # A slip: back with Shift+Tab to the password, which keeps what was typed.
    _tab_to(page, ui.field("password"), backwards=True, most=1)
    expect(ui.field("password")).to_have_value(PASSWORD)
    for key, text in (("password2", PASSWORD), ("phone", "861234567")):
        _tab_to(page, ui.field(key))
        page.keyboard.type(text)
    for key in ("invoices", "terms"):
        _tab_to(page, ui.field(key))
        page.keyboard.press("Space")
        expect(ui.field(key)).to_be_checked()
    _tab_to(page, ui.button("register"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    ui.expect_sent(email)

    page.goto(_newest_link(a11y_server, email, "confirm", "/confirm/"))
    _tab_to(page, ui.button("confirm_email"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(ui.field("login_email")).to_have_value(email)
    _tab_to(page, ui.field("password"))
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    ui.expect_account_page()


def test_registration_with_the_keyboard_alone_business(axe_page, a11y_server):
    page, lang = axe_page, "en"
    ui = Ui(page, a11y_server, "elektrum", lang)
    email = unique_email("keys-elektrum")
    ui.open("/register")
    for key, text in (
        ("first_name", "Jonas"),
        ("last_name", "Jonaitis"),
        ("company_code", "110053842"),
        ("business_email", email),
    ):
        _tab_to(page, ui.field(key))
        page.keyboard.type(text)
    region = page.locator("#contract-region")
    # Tab enters the Yes/No group at "Yes"; Space chooses, arrows change the answer.
    _tab_to(page, ui.field("yes"), most=1)
    page.keyboard.press("Space")
    expect(region).to_have_attribute("data-state", "yes")
    expect(ui.field("contract")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(ui.field("no")).to_be_checked()
    expect(region).to_have_attribute("data-state", "no")
    expect(ui.field("contract")).to_be_hidden()
    page.keyboard.press("ArrowLeft")
    expect(ui.field("yes")).to_be_checked()
    expect(region).to_have_attribute("data-state", "yes")
    _tab_to(page, ui.field("contract"), most=1)
    page.keyboard.type("4100012345")
    _tab_to(page, ui.button("register"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    ui.expect_sent(email)

    page.goto(_newest_link(a11y_server, email, "activate", "/activate/"))
    _tab_to(page, ui.field("new_password"))
    page.keyboard.type(PASSWORD)
    _tab_to(page, ui.field("new_password2"))
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # Elektrum's second factor, set up with the keyboard too.
    key = page.locator("code.secret-key").inner_text().replace(" ", "")
    _tab_to(page, page.get_by_label(re.compile(re.escape(ui.t("Code from the app")))), most=30)
    page.keyboard.type(pyotp.TOTP(key).now())
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _tab_to(page, page.get_by_role("button", name=ui.t("I have saved them: continue")), most=30)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    ui.expect_account_page()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_password_show_hide(axe_page, a11y_server, lang):
    page = axe_page
    ui = Ui(page, a11y_server, "velzio", lang)
    ui.open("/register")
    password = ui.field("password")
    toggle = page.get_by_role("button", name=ui.t("Show password")).first
    expect(toggle).to_have_attribute("aria-controls", password.get_attribute("id"))
    expect(toggle).to_have_text(ui.t("Show"))
    password.fill("Slapta123")
    toggle.click()
    expect(password).to_have_attribute("type", "text")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    # Sending the form hides it again (so a password manager offers to save
    # it): what the field is when the form goes, seen by a listener on the form
    # that keeps the page (app.js listens earlier, on the document).
    page.evaluate(
        "() => document.querySelector('form.form').addEventListener('submit', event => {"
        " event.preventDefault(); window.typeWhenSent = document.getElementById('password').type;"
        " })"
    )
    ui.button("register").click()
    assert page.evaluate("() => window.typeWhenSent") == "password"
    expect(toggle).to_have_attribute("aria-pressed", "false")


def test_password_show_hide_not_offered_without_javascript(page_nojs, live_server):
    ui = Ui(page_nojs, live_server, "velzio", "lt")
    ui.open("/register")
    expect(ui.field("password")).to_be_visible()
    expect(page_nojs.locator(".password__toggle").first).to_be_hidden()
    expect(page_nojs.get_by_role("button", name=ui.t("Show password"))).to_have_count(0)

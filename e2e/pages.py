"""What the tests see of the UI: the labels and other texts through the
compiled catalogues, the mailbox JSON, and the few steps every flow repeats."""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import quote
from urllib.request import urlopen

import pyotp
import pytest
from babel.support import Translations
from playwright.sync_api import Locator, Page, expect
from support.mail import link_in

from webapp import deferred
from webapp.config import PROJECT_ROOT

from .conftest import LiveServer

LANGUAGES = ("lt", "en")
PASSWORD = "Slapta123"

_catalogues: dict[str, Translations] = {}


def t(msgid: str, lang: str, **params) -> str:
    """`msgid` as the UI shows it in `lang`. A Lithuanian test fails when the
    catalogue has no translation (fuzzy entries are never compiled)."""
    if lang not in _catalogues:
        _catalogues[lang] = Translations.load(str(PROJECT_ROOT / "translations"), [lang])
    text = _catalogues[lang].gettext(msgid)
    if lang == "lt" and text == msgid:
        pytest.fail(f"no Lithuanian translation for {msgid!r}: run `make translations`?")
    return text % params if params else text


# The controls the flows use, by key: each is its msgid (with its parameters),
# and its label is what the catalogue makes of it, never a copy of the text.
LABEL_MSGIDS: dict[str, str | tuple[str, dict]] = {
    "first_name": "First name",
    "last_name": "Last name",
    "company_code": "Company code",
    "business_email": "Email",
    "customer": ("Are you an existing %(name)s customer?", {"name": "Elektrum"}),
    "yes": "Yes",
    "no": "No",
    "contract": "Contract number",
    "email": "Email address",
    "password": "Password",
    "password2": "Repeat password",
    "phone": "Phone number",
    "invoices": "Receive invoices by email",
    "sms": "Accept SMS messages",
    "terms": "I have read and agree to the site rules",
    "register": "Register",
    "new_password": "New password",
    "new_password2": "Repeat new password",
    "confirm": "Confirm",
    "confirm_email": "Confirm email address",
    "login_email": "Login name (email)",
    "log_in": "Log in",
    "forgot": "Forgot your password?",
}


def labels_in(lang: str) -> dict[str, str]:
    """Every control's label in `lang`, through the catalogues."""
    labels = {}
    for key, entry in LABEL_MSGIDS.items():
        msgid, params = entry if isinstance(entry, tuple) else (entry, {})
        labels[key] = t(msgid, lang, **params)
    return labels


LABELS = {lang: labels_in(lang) for lang in LANGUAGES}


def unique_email(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def mailbox(server: LiveServer, to: str) -> list[dict]:
    """The outbox for `to`, newest first, as QA reads it: the mailbox JSON. The
    live server runs in this process: first wait for the work it does after its
    answers (registration, links, mail), as a person waits for their email."""
    assert deferred.wait_idle(), "work after the response did not finish"
    with urlopen(server(f"/_mailbox/messages.json?to={quote(to)}"), timeout=10) as response:  # noqa: S310
        return json.load(response)


def label(text: str, more: bool = False) -> re.Pattern:
    """A control's label in full. Playwright reads the label's text, which ends
    with the required mark (aria-hidden, so a screen reader does not say it);
    `more` lets it go on, as the terms label does with "(opens in a new tab)"."""
    return re.compile("^" + re.escape(text) + (r"( |$)" if more else r"(\s*\*)?$"))


class Ui:
    """One person at one utility, in one language: opens pages and finds
    controls the way a screen reader names them."""

    def __init__(self, page: Page, server: LiveServer, tenant: str, lang: str):
        self.page, self.server, self.tenant, self.lang = page, server, tenant, lang
        self.labels = LABELS[lang]

    def t(self, msgid: str, **params) -> str:
        return t(msgid, self.lang, **params)

    def open(self, path: str = "/"):
        """A page of the tenant; English is asked for explicitly (then remembered)."""
        url = self.server(f"/{self.tenant}{path}")
        if self.lang != "lt":
            url += ("&" if "?" in url else "?") + f"lang={self.lang}"
        return self.page.goto(url)

    def field(self, key: str) -> Locator:
        return self.page.get_by_label(label(self.labels[key], more=key == "terms"))

    def button(self, key: str) -> Locator:
        return self.page.get_by_role("button", name=self.labels[key], exact=True)

    def error_of(self, key: str) -> Locator:
        """The error line that a control names in its aria-describedby."""
        control_id = self.field(key).get_attribute("id")
        return self.page.locator(f"[id='{control_id}-error']")

    def submit(self, key: str = "register", status: int | None = None):
        """Press a button that posts the form; check the status of the answer."""
        with self.page.expect_navigation() as navigation:
            self.button(key).click()
        response = navigation.value
        if status is not None:
            assert response.status == status, response.url
        return response

    def fill_residential(self, email: str, password: str = PASSWORD):
        self.field("first_name").fill("Ona")
        self.field("last_name").fill("Onaitė")
        self.field("email").fill(email)
        self.field("password").fill(password)
        self.field("password2").fill(password)
        self.field("phone").fill("861234567")
        self.field("invoices").check()
        self.field("terms").check()

    def fill_business(self, email: str, customer: bool, contract: str = ""):
        self.field("first_name").fill("Jonas")
        self.field("last_name").fill("Jonaitis")
        self.field("company_code").fill("110053842")
        self.field("business_email").fill(email)
        self.field("yes" if customer else "no").check()
        if contract:
            self.field("contract").fill(contract)

    def expect_sent(self, email: str):
        """The 'check your email' page, naming the address."""
        expect(self.page).to_have_url(re.compile(r"/register/sent$"))
        expect(self.page.get_by_role("heading", level=1)).to_have_text(self.t("Check your email"))
        expect(self.page.get_by_text(email)).to_be_visible()

    def open_link(self, email: str, kind: str, marker: str):
        """Open the newest `kind` email's link, as the person would."""
        messages = [m for m in mailbox(self.server, email) if m["kind"] == kind]
        assert messages, f"no {kind} email for {email}"
        assert messages[0]["language"] == self.lang
        return self.page.goto(link_in(messages[0]["text"], marker, full_url=True))

    def confirm_email(self):
        """On a confirmation link's page (opening the link confirms nothing):
        press its button, as the person does."""
        expect(self.page.get_by_role("heading", level=1)).to_have_text(
            self.t("Confirm your email address")
        )
        return self.submit("confirm_email")

    def set_new_password(self, password: str):
        self.field("new_password").fill(password)
        self.field("new_password2").fill(password)
        self.submit("confirm")

    def log_in(self, email: str, password: str, status: int | None = None):
        self.field("login_email").fill(email)
        self.field("password").fill(password)
        return self.submit("log_in", status)

    def set_up_second_factor(self, check=None) -> pyotp.TOTP:
        """The set-up step a "required" tenant (Elektrum) shows at the first
        login: the key from the page into an authenticator app (pyotp), its
        code, then past the recovery codes. `check(name)` runs on each page."""
        page = self.page
        expect(page.get_by_role("heading", level=1)).to_have_text(
            self.t("One more step: protect your account")
        )
        if check:
            check("second factor set-up")
        app = pyotp.TOTP(page.locator("code.secret-key").inner_text().replace(" ", ""))
        page.get_by_label(label(self.t("Code from the app"))).fill(app.now())
        with page.expect_navigation():
            page.get_by_role("button", name=self.t("Confirm"), exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(self.t("Your recovery codes"))
        if check:
            check("recovery codes")
        with page.expect_navigation():
            page.get_by_role("button", name=self.t("I have saved them: continue")).click()
        return app

    def register_residential(self, prefix: str) -> str:
        """Ona at a residential tenant: registered, her address confirmed from
        the email, logged in with her password. Returns the address."""
        email = unique_email(prefix)
        self.open("/register")
        self.fill_residential(email)
        self.submit()
        self.expect_sent(email)
        self.open_link(email, "confirm", "/confirm/")
        self.confirm_email()
        self.log_in(email, PASSWORD)
        self.expect_account_page()
        return email

    def expect_account_page(self):
        expect(self.page).to_have_url(re.compile(rf"/{self.tenant}/account/?$"))
        expect(self.page.get_by_role("heading", level=1)).to_have_text(self.t("My account"))

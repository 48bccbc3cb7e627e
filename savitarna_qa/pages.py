"""Page objects: Savitarna's pages as a screen reader names them (role and
label), in Lithuanian or English, with the texts taken from Savitarna's own
catalogues, so a test keeps working when a label's wording changes in a
release. Never CSS classes. Each takes a Playwright Page, or the
FrameLocator of an embedded form (EmbeddedFrame)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel.support import Translations
from playwright.sync_api import FrameLocator, Locator, Page, expect

if TYPE_CHECKING:
    from .client import Customer, Savitarna

LANGUAGES = ("lt", "en")


def _translations_dir() -> Path:
    from webapp.config import RESOURCE_ROOT

    return RESOURCE_ROOT / "translations"


@cache
def _catalogue(lang: str) -> Translations:
    return Translations.load(str(_translations_dir()), [lang], domain="messages")


class Texts:
    """The UI's texts in one language: Texts("lt")("Log in") == "Prisijungti"."""

    def __init__(self, lang: str = "lt"):
        if lang not in LANGUAGES:
            raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
        self.lang = lang

    def __call__(self, msgid: str, **params) -> str:
        text = _catalogue(self.lang).gettext(msgid)
        return text % params if params else text

    @staticmethod
    def any_language(msgid: str, whole: bool = True) -> re.Pattern:
        """The text in any of our languages: in full, or (whole=False) within."""
        names = "|".join(re.escape(Texts(lang)(msgid)) for lang in LANGUAGES)
        return re.compile(f"^({names})$" if whole else f"({names})")


def label(text: str, more: bool = False) -> re.Pattern:
    """A control's label in full. Its text ends with the required mark ' *'
    (hidden from screen readers); `more` lets it go on (the terms label ends
    with '(opens in a new tab)')."""
    return re.compile("^" + re.escape(text) + (r"( |$)" if more else r"(\s*\*)?$"))


Root = Page | FrameLocator


class Screen:
    """What every page has: fields by label, buttons and links by name, the
    heading, the status line and the error summary."""

    def __init__(self, root: Root, lang: str = "lt"):
        self.root, self.t = root, Texts(lang)
        self.lang = lang

    def field(self, msgid: str, more: bool = False, **params) -> Locator:
        return self.root.get_by_label(label(self.t(msgid, **params), more=more))

    def button(self, msgid: str) -> Locator:
        return self.root.get_by_role("button", name=self.t(msgid), exact=True)

    def link(self, msgid: str) -> Locator:
        return self.root.get_by_role("link", name=self.t(msgid), exact=True)

    @property
    def heading(self) -> Locator:
        return self.root.get_by_role("heading", level=1)

    @property
    def status(self) -> Locator:
        """The line a page shows after a step ("Your email address is confirmed...")."""
        return self.root.get_by_role("status")

    @property
    def error_summary(self) -> Locator:
        """'Please correct these errors', with one link per field (id error-summary)."""
        return self.root.get_by_role("alert").filter(
            has=self.root.get_by_role("heading", name=self.t("Please correct these errors"))
        )

    def error_of(self, control: Locator) -> Locator:
        """A field's error line: the element its aria-describedby names first,
        id `<field id>-error` (README, "Stable ids")."""
        control_id = control.get_attribute("id")
        return self.root.locator(f"[id='{control_id}-error']")

    def expect_heading(self, msgid: str, **params) -> None:
        expect(self.heading).to_have_text(self.t(msgid, **params))


def _open(page: Page, url: str) -> None:
    answer = page.goto(url)
    assert answer is not None and answer.ok, f"{url} answered {answer and answer.status}"


class RegistrationPage(Screen):
    """'New user registration', either profile: residential (password, phone,
    site rules) or business (company code, customer yes/no, contract number)."""

    def open(self, savitarna: Savitarna) -> RegistrationPage:
        _open(self.root, savitarna("/register", lang=self.lang))
        self.expect_heading("New user registration")
        return self

    def fill(self, customer: Customer, business: bool) -> RegistrationPage:
        self.field("First name").fill(customer.first_name)
        self.field("Last name").fill(customer.last_name)
        if business:
            self.field("Company code").fill(customer.company_code)
            self.field("Email").fill(customer.email)
            # "Are you an existing <utility> customer?": No (no contract number).
            self.root.get_by_role("radio", name=self.t("No"), exact=True).check()
            return self
        self.field("Email address").fill(customer.email)
        self.field("Password").fill(customer.password)
        self.field("Repeat password").fill(customer.password)
        phone = self.field("Phone number")
        if phone.count():
            phone.fill(customer.phone)
        self.field("I have read and agree to the site rules", more=True).check()
        return self

    def submit(self) -> None:
        self.button("Register").click()

    def expect_sent(self) -> None:
        """'Check your email'. (The full site names the address there; a frame
        that keeps no cookies cannot.)"""
        self.expect_heading("Check your email")


class LoginPage(Screen):
    """The tenant's front page: 'Log in to the self-service'."""

    def open(self, savitarna: Savitarna) -> LoginPage:
        _open(self.root, savitarna("/", lang=self.lang))
        self.expect_heading("Log in to the self-service")
        return self

    def log_in(self, email: str, password: str) -> None:
        self.field("Login name (email)").fill(email)
        self.field("Password").fill(password)
        self.button("Log in").click()

    def expect_logged_in(self) -> None:
        self.expect_heading("My account")

    def forgot_password(self) -> ForgotPasswordPage:
        self.link("Forgot your password?").click()
        return ForgotPasswordPage(self.root, self.lang)


class ForgotPasswordPage(Screen):
    """'Forgot your password?': the email, then 'Send the link'."""

    def open(self, savitarna: Savitarna) -> ForgotPasswordPage:
        _open(self.root, savitarna("/forgot", lang=self.lang))
        return self

    def request_link(self, email: str) -> None:
        self.field("Email address").fill(email)
        self.button("Send the link").click()


class SetPasswordPage(Screen):
    """The page of an activation or reset link: a new password, twice."""

    @property
    def shown(self) -> bool:
        return self.field("New password").count() > 0

    def set_password(self, password: str) -> None:
        self.field("New password").fill(password)
        self.field("Repeat new password").fill(password)
        self.button("Confirm").click()


class EmbeddedFrame:
    """The embedded form in a page of your own: the iframe Savitarna is in."""

    def __init__(self, page: Page, selector: str = "iframe[data-savitarna]", lang: str = "lt"):
        self.page, self.lang = page, lang
        self.frame = page.frame_locator(selector)

    @property
    def registration(self) -> RegistrationPage:
        return RegistrationPage(self.frame, self.lang)

    @property
    def login(self) -> LoginPage:
        return LoginPage(self.frame, self.lang)

    @property
    def screen(self) -> Screen:
        return Screen(self.frame, self.lang)

"""Whole journeys in one call, for a utility's test that needs a confirmed
customer and does not test our pages step by step."""

from __future__ import annotations

import re

import pyotp
from playwright.sync_api import Page, expect

from .client import Customer, Email, Mailbox, Savitarna
from .pages import EmbeddedFrame, RegistrationPage, Screen, SetPasswordPage, Texts

# A page an emailed link opens may first ask to press a button (so a link
# scanner that only GETs confirms nothing); these are its names.
GO_ON = ("Confirm email address",)


def register_and_confirm(
    page: Page,
    savitarna: Savitarna,
    mailbox: Mailbox,
    customer: Customer,
    *,
    frame: EmbeddedFrame | None = None,
    lang: str = "lt",
) -> Page:
    """Register `customer`, on our registration page or in `frame` (the
    embedded form in your page, already open), then confirm from the email as
    the person would. Returns the page the link was opened in (a new tab when
    registering in a frame), showing the login page (residential) or the
    account page (business, after creating the password)."""
    form = frame.registration if frame else RegistrationPage(page, lang).open(savitarna)
    form.fill(customer, business=savitarna.is_business).submit()
    form.expect_sent()
    email = mailbox.wait(customer.email, kind="activate" if savitarna.is_business else "confirm")
    tab = page.context.new_page() if frame is not None else page
    confirm_from_email(tab, email, customer, business=savitarna.is_business)
    return tab


def confirm_from_email(page: Page, email: Email, customer: Customer, *, business: bool) -> None:
    """Open the email's link; press its confirm button when the page shows one;
    create the password where the link asks for it; check the outcome."""
    page.goto(email.link)
    lang = email.language if email.language in ("lt", "en") else "lt"
    go_on = re.compile(
        "|".join(Texts.any_language(name).pattern for name in GO_ON), flags=re.IGNORECASE
    )
    for _ in range(3):
        screen = SetPasswordPage(page, lang)
        if screen.shown:
            screen.set_password(customer.password)
            if "/login/second-factor" in page.url:
                set_up_authenticator(page, customer)
            expect(Screen(page, lang).heading).to_have_text(Texts.any_language("My account"))
            return
        button = page.get_by_role("main").get_by_role("button", name=go_on)
        if not button.count():
            break
        before = page.url
        button.first.click()
        page.wait_for_url(lambda url, before=before: url != before)
    screen = Screen(page, lang)
    if business:
        expect(screen.heading).to_have_text(Texts.any_language("My account"))
    else:
        confirmed = "Your email address is confirmed. Log in with your email and password."
        expect(screen.status).to_contain_text(Texts.any_language(confirmed, whole=False))


def set_up_authenticator(page: Page, customer: Customer) -> None:
    """A tenant that requires a second factor asks for one after the first
    login: add an authenticator app from the key shown as text, type its code,
    keep the recovery codes on `customer`, and go on."""
    main = page.get_by_role("main")
    shown = main.get_by_text(Texts.any_language("Key:", whole=False)).first.inner_text()
    key = shown.split(":", 1)[1].strip()
    customer.authenticator_key = key
    main.get_by_label(Texts.any_language("Code from the app", whole=False)).fill(
        pyotp.TOTP(key.replace(" ", "")).now()
    )
    main.get_by_role("button", name=Texts.any_language("Confirm")).click()
    continue_button = main.get_by_role(
        "button", name=Texts.any_language("I have saved them: continue")
    )
    expect(continue_button).to_be_visible()
    customer.recovery_codes = [
        item.strip() for item in main.get_by_role("listitem").all_inner_texts()
    ]
    continue_button.click()

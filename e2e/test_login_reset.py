"""Log in, 'forgot your password?' end to end through a real SMTP server on
loopback, and the language switch."""

from __future__ import annotations

import re
from email.message import EmailMessage

import pytest
from playwright.sync_api import expect
from support.mail import link_in

from .pages import LABELS, LANGUAGES, Ui, label, t, unique_email

pytestmark = pytest.mark.e2e


def _text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_forgot_password_over_smtp(page, smtp_server, lang):
    server, inbox = smtp_server
    ui = Ui(page, server, "velzio", lang)
    email = unique_email(f"reset-{lang}")

    ui.open("/register")
    ui.fill_residential(email, password="Senas123")
    ui.submit()
    ui.expect_sent(email)
    confirm = inbox.take(email)
    assert confirm["Content-Language"] == lang
    page.goto(link_in(_text(confirm), "/confirm/", full_url=True))
    ui.confirm_email()
    expect(ui.field("login_email")).to_have_value(email)

    page.get_by_role("link", name=ui.labels["forgot"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.labels["forgot"])
    ui.field("email").fill(email)
    with page.expect_navigation():
        page.get_by_role("button", name=ui.t("Send the link")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("Check your email"))

    reset = inbox.take(email)
    assert reset["Subject"] == ui.t("Reset your %(product)s password", product="MOKESTA savitarna")
    page.goto(link_in(_text(reset), "/reset/", full_url=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("Set a new password"))
    ui.set_new_password("Naujas456")
    ui.expect_account_page()
    expect(page.get_by_role("status").first).to_contain_text(
        ui.t("Your password is saved. Welcome!")
    )

    with page.expect_navigation():
        page.get_by_role("button", name=ui.t("Log out")).click()
    ui.log_in(email, "Senas123", status=422)
    expect(page.locator("#error-summary")).to_contain_text(
        ui.t(
            "The email or password is incorrect. Check them and try again, or reset your password."
        )
    )
    ui.log_in(email, "Naujas456")
    ui.expect_account_page()


def test_language_switch_on_login_page(page, live_server):
    ui = Ui(page, live_server, "velzio", "lt")
    ui.open("/")
    expect(page.locator("html")).to_have_attribute("lang", "lt")
    expect(page.get_by_role("button", name=LABELS["lt"]["log_in"], exact=True)).to_be_visible()
    languages = page.get_by_role("navigation", name=t("Language", "lt"))

    languages.get_by_role("link", name="English").click()
    expect(page).to_have_url(re.compile(r"/velzio/\?lang=en$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name=LABELS["en"]["log_in"], exact=True)).to_be_visible()
    expect(page.get_by_label(label(LABELS["en"]["login_email"]))).to_be_visible()

    # The choice is remembered without the parameter...
    ui.open("/register")
    expect(page.get_by_label(label(LABELS["en"]["first_name"]))).to_be_visible()
    # ...until switched back.
    page.get_by_role("navigation", name="Language").get_by_role("link", name="Lietuvių").click()
    expect(page.locator("html")).to_have_attribute("lang", "lt")
    expect(page.get_by_label(label(LABELS["lt"]["first_name"]))).to_be_visible()

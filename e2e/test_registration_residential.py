"""Residential registration (Velžio, MOKESTA), with JavaScript and without:
register, confirm from the email, log in, change a choice in place."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .pages import LANGUAGES, PASSWORD, Ui, mailbox, unique_email

pytestmark = pytest.mark.e2e

ERROR_TITLE = {"lt": "Klaida: ", "en": "Error: "}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_register_confirm_log_in_and_change_invoices(page, live_server, lang, output):
    ui = Ui(page, live_server, "velzio", lang)
    email = unique_email(f"velzio-{lang}")
    ui.open("/register")
    expect(page.locator("html")).to_have_attribute("lang", lang)

    ui.fill_residential(email)
    ui.submit()
    ui.expect_sent(email)

    [message] = mailbox(live_server, email)
    assert message["kind"] == "confirm"
    assert message["language"] == lang
    assert message["subject"] == ui.t(
        "Confirm your registration at %(product)s", product="MOKESTA savitarna"
    )
    ui.open_link(email, "confirm", "/confirm/")
    ui.confirm_email()
    expect(page).to_have_url(re.compile(r"/velzio/$"))
    expect(ui.field("login_email")).to_have_value(email)
    expect(page.get_by_role("status")).to_have_text(
        ui.t("Your email address is confirmed. Log in with your email and password.")
    )

    ui.log_in(email, PASSWORD)
    ui.expect_account_page()
    if lang == "lt":
        page.screenshot(path=output / "account-velzio.png", full_page=True)

    invoices, saved = ui.field("invoices"), page.get_by_role("status")
    expect(invoices).to_be_checked()
    expect(saved).to_be_empty()
    invoices.uncheck()
    expect(saved).to_have_text(ui.t("Your choices are saved."))
    expect(invoices).not_to_be_checked()

    page.reload()
    expect(ui.field("invoices")).not_to_be_checked()
    expect(page.get_by_role("status")).to_be_empty()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_without_javascript_errors_then_register(page_nojs, live_server, lang, output):
    page = page_nojs
    ui = Ui(page, live_server, "velzio", lang)
    email = unique_email(f"velzio-nojs-{lang}")
    ui.open("/register")

    ui.submit(status=422)
    expect(page).to_have_title(re.compile("^" + re.escape(ERROR_TITLE[lang])))
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name=ui.t("Enter your first name."))).to_have_attribute(
        "href", "#first_name"
    )
    expect(summary.get_by_role("link", name=ui.t("Enter a password."))).to_have_attribute(
        "href", "#password"
    )
    expect(
        summary.get_by_role("link", name=ui.t("Tick the box to agree to the site rules."))
    ).to_have_attribute("href", "#terms")
    expect(ui.field("first_name")).to_have_attribute("aria-invalid", "true")
    expect(ui.error_of("first_name")).to_contain_text(ui.t("Enter your first name."))
    if lang == "lt":
        page.screenshot(path=output / "velzio-registration-errors.png", full_page=True)

    ui.fill_residential(email)
    ui.submit(status=200)
    ui.expect_sent(email)
    ui.open_link(email, "confirm", "/confirm/")
    ui.confirm_email()
    expect(ui.field("login_email")).to_have_value(email)
    ui.log_in(email, PASSWORD)
    ui.expect_account_page()

"""Live validation (htmx): errors appear when a field is left, never while
typing; a shown error goes as soon as the value is corrected; the password
checklist and the match line follow every keystroke."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .pages import LANGUAGES, Ui

pytestmark = pytest.mark.e2e


def _checks(page, field: str) -> list[str]:
    """Record the live-check requests of one field."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if r.url.endswith(f"/check/{field}") else None)
    return seen


@pytest.mark.parametrize("lang", LANGUAGES)
def test_error_shows_on_leaving_and_goes_while_correcting(page, live_server, lang):
    ui = Ui(page, live_server, "velzio", lang)
    ui.open("/register")
    first_name, error = ui.field("first_name"), ui.error_of("first_name")
    checks = _checks(page, "first_name")

    first_name.press_sequentially("On")
    first_name.press("Backspace")
    first_name.press("Backspace")
    # Typing (and clearing) asks nothing of the server and shows nothing.
    expect(first_name).to_be_focused()
    expect(error).to_be_empty()
    assert checks == []

    first_name.press("Tab")
    expect(error).to_have_text(re.compile(re.escape(ui.t("Enter your first name.")) + "$"))
    expect(first_name).to_have_attribute("aria-invalid", "true")

    first_name.click()
    first_name.press_sequentially("Ona")
    # Corrected while still in the field: the error goes without a Tab.
    expect(error).to_be_empty()
    expect(first_name).to_have_attribute("aria-invalid", "false")
    expect(first_name).to_be_focused()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_password_checklist_and_match_line_follow_typing(page, live_server, lang):
    ui = Ui(page, live_server, "velzio", lang)
    ui.open("/register")
    rules = page.locator("#password-rules")

    def rule(text: str):
        return rules.get_by_role("listitem").filter(has_text=ui.t(text))

    ui.field("password").press_sequentially("slapta")
    expect(rule("a lower-case letter")).to_have_class(re.compile(r"\brule--met\b"))
    expect(rule("an upper-case letter")).to_have_class(re.compile(r"\brule--unmet\b"))
    expect(rule("a digit")).to_have_class(re.compile(r"\brule--unmet\b"))

    ui.field("password").fill("")
    ui.field("password").press_sequentially("Slapta123")
    for text in ("a lower-case letter", "an upper-case letter", "a digit"):
        expect(rule(text)).to_have_class(re.compile(r"\brule--met\b"))
    expect(rules.locator(".rule--unmet")).to_have_count(0)

    match = page.locator("#password-match")
    ui.field("password2").press_sequentially("Slapta12")
    expect(match).to_have_text(
        ui.t("The passwords do not match: type the same password in both fields.")
    )
    expect(match).to_have_class(re.compile(r"\bmatch--no\b"))
    ui.field("password2").press("3")
    expect(match).to_have_text(ui.t("The passwords match."))
    expect(match).to_have_class(re.compile(r"\bmatch--ok\b"))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_company_code_check_digit_error_after_leaving(page, live_server, lang):
    ui = Ui(page, live_server, "elektrum", lang)
    ui.open("/register")
    code, error = ui.field("company_code"), ui.error_of("company_code")

    code.press_sequentially("110053843")
    expect(error).to_be_empty()
    code.press("Tab")
    expect(error).to_contain_text(
        ui.t("Check the company code: its last (check) digit does not match the others.")
    )

    code.click()
    code.press("Backspace")
    code.press_sequentially("2")
    expect(error).to_be_empty()

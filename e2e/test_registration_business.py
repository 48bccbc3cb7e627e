"""Business registration (Elektrum): the customer toggle and contract number,
the activation link that creates the password, with JavaScript and without."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Account

from .pages import LANGUAGES, Ui, unique_email

pytestmark = pytest.mark.e2e

CONTRACT = "4100012345"
COMPANY = "110053842"
PASSWORD = "Elektra123"


def _activate(ui: Ui, email: str, password: str = PASSWORD):
    """Follow the activate link and create the password: the account page."""
    ui.open_link(email, "activate", "/activate/")
    expect(ui.page.get_by_role("heading", level=1)).to_have_text(ui.t("Create your password"))
    ui.set_new_password(password)
    ui.set_up_second_factor()  # Elektrum requires one
    ui.expect_account_page()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_customer_toggle_then_register_as_customer(page, live_server, lang, output):
    ui = Ui(page, live_server, "elektrum", lang)
    email = unique_email(f"elektrum-{lang}")
    ui.open("/register")
    contract = ui.field("contract")
    question = page.get_by_role("group", name=ui.labels["customer"])

    question.get_by_label(ui.labels["yes"], exact=True).check()
    expect(contract).to_be_visible()
    expect(contract).to_have_attribute("aria-required", "true")
    expect(page.locator("label[for=contract_number] .required")).to_be_visible()

    question.get_by_label(ui.labels["no"], exact=True).check()
    expect(contract).to_be_hidden()

    ui.field("yes").check()
    expect(contract).to_be_visible()
    expect(contract).to_have_attribute("aria-required", "true")

    ui.fill_business(email, customer=True, contract=CONTRACT)
    if lang == "lt":
        page.screenshot(path=output / "elektrum-registration-taip.png", full_page=True)
    ui.submit()
    ui.expect_sent(email)

    _activate(ui, email)
    expect(page.get_by_text(COMPANY, exact=True)).to_be_visible()
    expect(page.get_by_text(CONTRACT, exact=True)).to_be_visible()
    if lang == "lt":
        page.screenshot(path=output / "account-elektrum.png", full_page=True)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_register_as_non_customer(page, live_server, lang):
    ui = Ui(page, live_server, "elektrum", lang)
    email = unique_email(f"elektrum-no-{lang}")
    ui.open("/register")
    ui.fill_business(email, customer=False)
    expect(ui.field("contract")).to_be_hidden()
    ui.submit()
    ui.expect_sent(email)

    _activate(ui, email)
    expect(page.get_by_text(COMPANY, exact=True)).to_be_visible()
    expect(page.get_by_text(ui.t("Not a customer yet"), exact=True)).to_be_visible()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_without_javascript_no_ignores_typed_contract(page_nojs, live_server, lang):
    ui = Ui(page_nojs, live_server, "elektrum", lang)
    email = unique_email(f"elektrum-nojs-no-{lang}")
    ui.open("/register")
    # Without JavaScript the contract field stays in view, required only after "Yes".
    expect(ui.field("contract")).to_be_visible()
    ui.fill_business(email, customer=False, contract=CONTRACT)
    ui.submit(status=200)
    ui.expect_sent(email)

    _activate(ui, email)
    expect(page_nojs.get_by_text(ui.t("Not a customer yet"), exact=True)).to_be_visible()
    expect(page_nojs.get_by_text(CONTRACT)).to_have_count(0)
    with live_server.app.app_context():
        account = db.session.scalar(select(Account).where(Account.email == email))
        assert (account.is_customer, account.contract_number) == (False, None)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_without_javascript_yes_needs_contract(page_nojs, live_server, lang):
    ui = Ui(page_nojs, live_server, "elektrum", lang)
    email = unique_email(f"elektrum-nojs-yes-{lang}")
    ui.open("/register")
    ui.fill_business(email, customer=True)
    ui.submit(status=422)

    message = ui.t("Enter your contract number: it is on your monthly invoice.")
    summary = page_nojs.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name=message)).to_have_attribute("href", "#contract_number")
    expect(ui.error_of("contract")).to_contain_text(message)
    expect(ui.field("contract")).to_have_attribute("aria-required", "true")
    expect(ui.field("yes")).to_be_checked()
    expect(ui.field("business_email")).to_have_value(email)

    ui.field("contract").fill(CONTRACT)
    ui.submit(status=200)
    ui.expect_sent(email)


def test_typing_while_the_toggle_answer_is_slow_is_kept(page, live_server):
    """On a slow network people type the contract number before the toggle's
    answer arrives; the swap must not wipe what they typed."""
    ui = Ui(page, live_server, "elektrum", "lt")
    ui.open("/register")
    held = []
    page.route("**/register/customer", lambda route: held.append(route))

    with page.expect_request("**/register/customer"):
        ui.field("yes").check()
    ui.field("contract").fill(CONTRACT)
    page.evaluate("0")  # lets the route handler run
    assert len(held) == 1, "the toggle did not ask the server"
    with page.expect_response("**/register/customer"):
        held[0].continue_()

    expect(page.locator("#contract-region")).to_have_attribute("data-state", "yes")
    expect(ui.field("contract")).to_have_value(CONTRACT)
    expect(ui.field("contract")).to_have_attribute("aria-required", "true")

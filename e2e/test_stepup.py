"""Step-up in Chromium: an old login asked to confirm it is them uses the
passkey it has (Chromium's virtual authenticator, JavaScript on) and comes
back to the page it was going to; with JavaScript off the page says passkeys
need it and the password works."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from support.clock import Clock

from .pages import PASSWORD, Ui
from .test_passkeys import add_passkey, registered

pytestmark = pytest.mark.e2e


def test_an_old_login_confirms_with_its_passkey_and_returns(
    page, local_server, authenticator, monkeypatch
):
    ui = Ui(page, local_server, "velzio", "lt")
    registered(ui)
    add_passkey(ui)
    # The live server runs in this process: its clock moves with the test's.
    Clock(monkeypatch).advance(seconds=601)
    ui.open("/account/privacy/email")
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("Confirm it is you"))
    with page.expect_navigation(url=re.compile(r"/velzio/account/privacy/email$")):
        page.get_by_role("button", name=ui.t("Use a passkey")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("Change email address"))


def test_without_javascript_the_password_confirms(page_nojs, local_server, monkeypatch):
    page = page_nojs
    ui = Ui(page, local_server, "velzio", "lt")
    registered(ui)
    Clock(monkeypatch).advance(seconds=601)
    ui.open("/account/password")
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("Confirm it is you"))
    page.get_by_label(ui.t("Password")).fill(PASSWORD)
    with page.expect_navigation(url=re.compile(r"/velzio/account/password$")):
        page.get_by_role("button", name=ui.t("Continue")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("Change password"))

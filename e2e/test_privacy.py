"""The "Security and privacy" page in a phone-sized Lithuanian Chromium:
download one's data (the JSON file and the page to read), ask for the
account's deletion with the password, see the banner, cancel from the emailed
link, ask again, and once the grace period is over (the purge job run by
hand, the due time moved behind the UI) find that the login no longer works.
The screenshots go to docs/screenshots/privacy-*.png."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from webapp import jobs
from webapp.extensions import db
from webapp.models import Account, Job, utcnow

from .conftest import screenshot_folder
from .pages import PASSWORD, Ui, label, mailbox
from .test_passkeys import add_passkey

pytestmark = pytest.mark.e2e

DELETION_REQUESTED = (
    "We have emailed you a link that cancels the deletion, in case you change your mind."
)


def shot(page, name: str) -> None:
    page.screenshot(path=screenshot_folder() / f"privacy-{name}.png", full_page=True)


def ask_deletion(ui: Ui) -> None:
    page = ui.page
    page.get_by_role("link", name=ui.t("Delete my account"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("Delete my account"))
    page.get_by_label(label(ui.t("Your password"))).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name=ui.t("Delete my account"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("Security and privacy"))


def test_download_my_data_and_delete_the_account(page, live_server):
    ui = Ui(page, live_server, "velzio", "lt")
    email = ui.register_residential("privacy")

    page.get_by_role("link", name=ui.t("Security and privacy")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("Security and privacy"))
    for section in ("Devices", "Email address", "Ways to log in", "Connected apps"):
        expect(page.get_by_role("heading", level=2, name=ui.t(section))).to_be_visible()
    shot(page, "home")

    # The JSON file, as the browser saves it.
    with page.expect_download() as waiting:
        page.get_by_role("link", name=ui.t("Download (JSON file)")).click()
    download = waiting.value
    assert download.suggested_filename == "velzio-my-data.json"
    data = json.loads(download.path().read_text(encoding="utf-8"))
    assert data["account"]["email"] == email and data["account"]["first_name"] == "Ona"
    assert "login_succeeded" in {row["event"] for row in data["audit_events"]}

    # The same, to read.
    page.get_by_role("link", name=ui.t("Read it on a page")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("My data"))
    expect(page.get_by_text(email).first).to_be_visible()
    shot(page, "export")
    page.get_by_role("link", name=ui.t("Back to security and privacy")).click()

    # Delete: the page explains, the password confirms.
    page.get_by_role("link", name=ui.t("Delete my account"), exact=True).click()
    expect(page.get_by_role("heading", level=2, name=ui.t("What is removed"))).to_be_visible()
    shot(page, "delete")
    page.get_by_role("link", name=ui.t("Keep my account and go back")).click()
    ask_deletion(ui)
    cancel = page.get_by_role("button", name=ui.t("Cancel the deletion"))
    expect(cancel).to_be_visible()
    shot(page, "pending")

    # The emailed link keeps the account.
    [mail] = [m for m in mailbox(live_server, email) if m["kind"] == "deletion_requested"]
    assert mail["subject"] == ui.t(
        "Your %(product)s account will be deleted", product="MOKESTA savitarna"
    )
    ui.open_link(email, "deletion_requested", "/delete/cancel/")
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("Keep your account"))
    shot(page, "cancel")
    with page.expect_navigation():
        page.get_by_role("button", name=ui.t("Cancel the deletion")).click()
    expect(page.get_by_text(ui.t("The deletion is cancelled: your account stays."))).to_be_visible()
    expect(page.get_by_role("button", name=ui.t("Cancel the deletion"))).to_have_count(0)

    # Asked again, and this time the grace period passes: the purge job runs.
    ask_deletion(ui)
    with live_server.app.app_context():
        past = utcnow() - timedelta(seconds=1)
        account_id = db.session.scalar(select(Account.id).where(Account.email == email))
        db.session.execute(
            update(Account).where(Account.id == account_id).values(deletion_due_at=past)
        )
        # This account's purges only: the live server is shared with other
        # tests' accounts (and their cancelled deletions) in this process.
        mine = [
            job.id
            for job in db.session.scalars(
                select(Job).where(Job.name == "purge_account", Job.done_at.is_(None))
            )
            if job.payload == [account_id]
        ]
        assert len(mine) == 2  # the first (cancelled) request's job, then this one
        db.session.execute(update(Job).where(Job.id.in_(mine)).values(run_after=past))
        db.session.commit()
        assert jobs.run_due()[1] == 0
        done = db.session.scalars(select(Job.done_at).where(Job.id.in_(mine))).all()
        assert all(done), done

    page.reload()
    expect(page).to_have_url(re.compile(r"/velzio/\?next="))
    ui.log_in(email, PASSWORD, status=422)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    shot(page, "after-purge-login")


def test_delete_the_account_with_a_passkey(page, local_server, authenticator):
    """With JavaScript and a passkey, the passkey confirms instead of the password."""
    ui = Ui(page, local_server, "velzio", "lt")
    ui.register_residential("privacy-passkey")
    add_passkey(ui)
    ui.open("/account/privacy/delete")
    with page.expect_navigation(url=re.compile(r"/velzio/account/privacy/$")):
        page.get_by_role("button", name=ui.t("Delete my account with a passkey")).click()
    expect(page.get_by_role("button", name=ui.t("Cancel the deletion"))).to_be_visible()
    expect(page.get_by_text(ui.t(DELETION_REQUESTED))).to_be_visible()

"""The funnel's "started" in a browser (webapp/funnel/counting.py): a form is
started once per page view, even when several live checks leave at once (an
autofill changes several fields in one go)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from webapp import deferred, funnel
from webapp.extensions import db
from webapp.models import Tenant, utcnow

from .pages import Ui

pytestmark = pytest.mark.e2e


def counts(server) -> dict[str, int]:
    """Today's counts of Velzio, once the work after the answers is done (the
    server runs in this process)."""
    assert deferred.wait_idle()
    with server.app.app_context():
        tenant_id = db.session.scalar(db.select(Tenant.id).where(Tenant.slug == "velzio"))
        day = utcnow().date()
        return dict(funnel.report(tenant_id, day, day).total.counts)


def test_checks_sent_together_start_the_form_once(page, live_server):
    before = counts(live_server)
    ui = Ui(page, live_server, "velzio", "lt")
    ui.open("/register")
    finished: list[str] = []
    page.on("requestfinished", lambda r: finished.append(r.url) if "/check/" in r.url else None)
    # As an autofill does: three fields change in the same moment.
    page.evaluate(
        """() => {
          const values = {first_name: "Ona", last_name: "Onaitė", email: "ona@"};
          for (const [name, value] of Object.entries(values)) {
            const input = document.getElementById(name);
            input.value = value;
          }
          for (const name of Object.keys(values)) {
            document.getElementById(name).dispatchEvent(new Event("change", {bubbles: true}));
          }
        }"""
    )
    expect(ui.error_of("email")).not_to_be_empty()
    # Each answer swaps in its own field's input: none undoes another's.
    expect(page.locator("#funnel-started")).to_have_value("started")
    expect(page.locator("#funnel-email")).to_have_value("email")
    deadline = time.monotonic() + 10
    while len(finished) < 3 and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # Playwright delivers the request events meanwhile
    assert len(finished) == 3, finished
    after = counts(live_server)
    assert after["page_view"] - before["page_view"] == 1
    assert after["started"] - before["started"] == 1
    assert after["field_error"] - before["field_error"] == 1

"""A customer's steps on the "Security and privacy" page: download their
data, ask for the account's deletion, cancel it (by the emailed link or by
the banner's button)."""

from __future__ import annotations

import json

from .forms import csrf_from, submit
from .mail import link_in, outbox

DELETION_MAIL = "deletion_requested"


def page(slug: str, path: str = "") -> str:
    return f"/{slug}/account/privacy/{path}"


def download(client, slug: str):
    """Press "Download (JSON file)": the answer and its data."""
    response = client.get(page(slug, "download.json"))
    data = json.loads(response.get_data(as_text=True)) if response.status_code == 200 else None
    return response, data


def ask_deletion(client, slug: str, password: str):
    """Open "Delete my account", type the password, press the button."""
    return submit(client, page(slug, "delete"), {"password": password})


def cancel_link(app, email: str) -> str:
    """The cancel link of the newest deletion email to `email`."""
    mails = [m for m in outbox(app, email) if m.kind == DELETION_MAIL]
    assert mails, f"no deletion email to {email}"
    return link_in(mails[-1], "/delete/cancel/")


def cancel_by_banner(client, slug: str):
    """Press the banner's "Cancel the deletion" (on the account page)."""
    html = client.get(f"/{slug}/account/").get_data(as_text=True)
    return client.post(page(slug, "delete/cancel"), data={"csrf_token": csrf_from(html)})

"""The "Security and privacy" page: reached from the account page and the
security page, it gathers devices, the email address, the ways to log in,
connected apps, the download and deletion; logged out, it asks to log in."""

from __future__ import annotations

import pytest
from support.people import Customer
from support.privacy import page
from support.texts import gettext_in

SECTIONS = (
    "Devices",
    "Email address",
    "Ways to log in",
    "Connected apps",
    "Download my data",
    "Delete my account",
)


@pytest.mark.parametrize("slug", ["velzio", "elektrum"])
def test_the_page_and_the_ways_to_it(client, app, slug):
    person = Customer(client, app, slug)
    person.register()
    if slug == "velzio":
        person.login()
    for start in (f"/{slug}/account/", f"/{slug}/account/security"):
        html = client.get(start).get_data(as_text=True)
        assert f'href="{page(slug)}"' in html, start
    response = client.get(page(slug), headers={"Accept-Language": "lt"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"<h1>{gettext_in(app, 'Security and privacy')}</h1>" in html
    for section in SECTIONS:
        assert f">{gettext_in(app, section)}</h2>" in html, section
    for link in (
        f"/{slug}/account/security",
        f"/{slug}/account/apps",
        page(slug, "download"),
        page(slug, "delete"),
    ):
        assert f'href="{link}"' in html, link
    assert f'href="{page(slug, "download.json")}" download' in html


def test_logged_out_it_asks_to_log_in(client):
    response = client.get(page("velzio"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/velzio/?next=")

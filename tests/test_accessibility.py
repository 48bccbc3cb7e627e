"""What assistive technology and password managers read in the served HTML:
passwordrules from the tenant's policy on new-password inputs only, errors
tied to their inputs, and the live region present before any swap."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from support.forms import submit
from support.people import login, register_velzio

from webapp.tenants import settings_for


class Elements(HTMLParser):
    """Every element with an id: its tag, attributes and text."""

    def __init__(self, html: str):
        super().__init__()
        self.by_id: dict[str, dict] = {}
        self._open: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, **{k: v or "" for k, v in attrs}, "text": ""}
        if "id" in element:
            self.by_id[element["id"]] = element
        if tag not in ("input", "img", "br", "meta", "link"):
            self._open.append(element)

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        for element in self._open:
            element["text"] += data


def _policy(app, slug: str):
    from support.apps import tenant

    with app.app_context():
        return settings_for(tenant(slug)).password


@pytest.mark.parametrize("slug", ["velzio", "elektrum"])
def test_live_region_is_in_every_page_as_served(client, slug):
    for path in (f"/{slug}/", f"/{slug}/register", f"/{slug}/forgot"):
        page = Elements(client.get(path).get_data(as_text=True))
        live = page.by_id["live-region"]
        assert live["aria-live"] == "polite", path
        assert live["text"].strip() == "", path


def test_new_password_inputs_carry_the_tenants_passwordrules(app, client):
    rules = _policy(app, "velzio").passwordrules()
    assert rules.startswith("minlength: 8; maxlength: 16; required: upper;")
    page = Elements(client.get("/velzio/register").get_data(as_text=True))
    for name in ("password", "password2"):
        assert page.by_id[name]["passwordrules"] == rules
        assert page.by_id[name]["autocomplete"] == "new-password"

    email = register_velzio(client, app, email="rules@example.com")
    login(client, "velzio", email, "Slapta123")
    page = Elements(client.get("/velzio/account/password").get_data(as_text=True))
    assert page.by_id["password"]["passwordrules"] == rules
    # The current password is typed, not generated: no rules on it.
    assert "passwordrules" not in page.by_id["current_password"]
    assert page.by_id["current_password"]["autocomplete"] == "current-password"


def test_elektrum_rules_name_its_symbols(app, client):
    page = Elements(client.get("/elektrum/").get_data(as_text=True))
    # The login page sets no password: no rules there.
    assert "passwordrules" not in page.by_id["password"]
    assert (
        _policy(app, "elektrum")
        .passwordrules()
        .endswith("allowed: upper, lower, digit, [_@#$%&*()];")
    )


def test_errors_are_tied_to_their_inputs(client):
    response = submit(client, "/velzio/register", {"email": "not an email"})
    assert response.status_code == 422
    page = Elements(response.get_data(as_text=True))
    for name in ("first_name", "last_name", "email", "password", "password2"):
        control = page.by_id[name]
        assert control["aria-invalid"] == "true", name
        described = control["aria-describedby"].split()
        assert f"{name}-error" in described, name
        assert page.by_id[f"{name}-error"]["text"].strip(), name
    assert page.by_id["phone"]["aria-invalid"] == "false"
    # The error summary is there, focusable, and links to the first field.
    assert page.by_id["error-summary"]["tabindex"] == "-1"


def test_password_toggle_markup(client):
    html = client.get("/velzio/register").get_data(as_text=True)
    toggles = re.findall(r"<button[^>]*password__toggle[^>]*>", html)
    assert len(toggles) == 2
    for toggle, controls in zip(toggles, ("password", "password2"), strict=True):
        assert 'type="button"' in toggle
        assert f'aria-controls="{controls}"' in toggle
        assert 'aria-pressed="false"' in toggle
        # Hidden until app.js makes it work; without JavaScript it never shows.
        assert " hidden" in toggle

"""The ids testers may rely on (savitarna_qa/hooks.py, README "Stable ids")
are on the pages: a rename breaks this test before it breaks a utility's suite."""

from __future__ import annotations

import re

import pytest
from support.data import ELEKTRUM_OK, VELZIO_OK
from support.forms import submit
from support.mail import link_in, outbox
from support.people import login, register_velzio

from savitarna_qa import hooks


def ids_in(html: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html))


def expected_ids(page: str) -> set[str]:
    ids = set(hooks.PAGE) | set(hooks.CONTROLS.get(page, ()))
    for name in hooks.FIELDS[page]:
        control = {f"{name}-0", f"{name}-1"} if name == "is_customer" else {name}
        ids |= control | {f"{name}-field", f"{name}-error"}
    return ids


def html_of(response) -> str:
    return response.get_data(as_text=True)


def test_registration_pages_keep_their_ids(client):
    velzio = submit(client, "/velzio/register", {})
    assert velzio.status_code == 422
    missing = expected_ids("residential registration") | set(hooks.SUMMARY) | set(hooks.PASSWORD)
    assert missing - ids_in(html_of(velzio)) == set()
    elektrum = submit(client, "/elektrum/register", {"is_customer": "yes"})
    assert elektrum.status_code == 422
    missing = expected_ids("business registration") | set(hooks.SUMMARY)
    assert missing - ids_in(html_of(elektrum)) == set()


@pytest.mark.parametrize(
    ("page", "path"),
    [
        ("login", "/velzio/"),
        ("forgot password", "/velzio/forgot"),
        ("send the confirmation again", "/velzio/resend"),
    ],
)
def test_email_pages_keep_their_ids(client, page, path):
    answer = submit(client, path, {"email": ""} if page != "login" else {})
    assert answer.status_code == 422
    assert (expected_ids(page) | set(hooks.SUMMARY)) - ids_in(html_of(answer)) == set()


def test_password_pages_keep_their_ids(client, app):
    data = {**ELEKTRUM_OK, "email": "ids@example.com"}
    assert submit(client, "/elektrum/register", data).status_code == 303
    link = link_in(outbox(app, "ids@example.com")[-1], "/activate/")
    activation = html_of(client.get(link))
    page = "set password (activation and reset links)"
    assert (expected_ids(page) | set(hooks.PASSWORD)) - ids_in(activation) == set()

    email = register_velzio(client, app, email="ids-home@example.com")
    login(client, "velzio", email, VELZIO_OK["password"])
    account = html_of(client.get("/velzio/account/"))
    assert expected_ids("account: preferences") - ids_in(account) == set()
    password = html_of(client.get("/velzio/account/password"))
    assert expected_ids("account: change password") - ids_in(password) == set()

"""`?next=` on the login page: after login the person returns to the page they
asked for, when it is a page of the same utility on this site; any other value
is dropped and the account page is used."""

from __future__ import annotations

import re

import pytest
from support.data import VELZIO_OK
from support.forms import csrf_from
from support.people import register_velzio
from support.texts import expected

from webapp.auth.sessions import NEXT_MAX_LENGTH

HOME = "/velzio/account/"
HOSTILE = [
    "//evil.example",
    "//evil.example/velzio/account/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "https://evil.example/velzio/account/",
    "http:evil.example",
    "https:/evil.example",
    "HTTPS://evil.example",
    "%2F%2Fevil.example",
    "%2f%2fevil.example",
    "/%5Cevil.example",
    "/%5cevil.example",
    "/%2F/evil.example",
    "/\t/evil.example",
    "\t//evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "/velzio/%0d%0aSet-Cookie:%20x=1",
    "/velzio/account/?x=\r\nSet-Cookie:x=1",
    "/velzio/account/?x=a b",
    "/velzio/\\evil.example",
    "/velzio/%5C..%5C..%5Celektrum/account/",
    "/velzio/../elektrum/account/",
    "/velzio/%2e%2e/elektrum/account/",
    "/velzio/%2E%2E/elektrum/account/",
    "/velzio/./../elektrum/account/",
    "/elektrum/account/",
    "/velzioo/account/",
    "/velzio",
    "velzio/account/",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/velzio/\u2215evil.example",
    "/velzio/account/" + "a" * NEXT_MAX_LENGTH,
    "/velzio/" + "%2F" * 5000,
]
NEXT_FIELD = re.compile(r'<input id="next" name="next" type="hidden" value="([^"]*)">')


def next_field(html: str) -> str:
    match = NEXT_FIELD.search(html)
    assert match, "the login form has no next field"
    return match.group(1)


def log_in(client, page_query: dict, password: str = VELZIO_OK["password"], **headers):
    """Open the login page with `page_query`, post the form as it came (with
    its hidden next field)."""
    html = client.get("/velzio/", query_string=page_query).get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(html),
        "next": next_field(html),
        "email": VELZIO_OK["email"],
        "password": password,
    }
    return client.post("/velzio/", data=data, headers=headers)


@pytest.mark.parametrize(
    "wanted", [HOME, "/velzio/account/password", "/velzio/account/?tab=1#invoices"]
)
def test_login_returns_to_the_page_asked_for(client, app, wanted):
    register_velzio(client, app)
    response = log_in(client, {"next": wanted})
    assert response.status_code == 303
    assert response.headers["Location"] == wanted


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_next_values_are_ignored(client, app, hostile):
    register_velzio(client, app)
    page = client.get("/velzio/", query_string={"next": hostile})
    assert page.status_code == 200
    # Not even echoed back into the form.
    assert next_field(page.get_data(as_text=True)) == ""
    response = log_in(client, {"next": hostile})
    assert response.status_code == 303
    assert response.headers["Location"] == HOME


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_next_posted_with_the_form_is_ignored(client, app, hostile):
    register_velzio(client, app)
    html = client.get("/velzio/").get_data(as_text=True)
    response = client.post(
        "/velzio/",
        data={
            "csrf_token": csrf_from(html),
            "next": hostile,
            "email": VELZIO_OK["email"],
            "password": VELZIO_OK["password"],
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == HOME


@pytest.mark.parametrize(
    "query", ["next=%2F%2Fevil.example", "next=/%5Cevil.example", "next=%2Felektrum%2Faccount%2F"]
)
def test_percent_encoded_next_in_the_address_bar_is_ignored(client, app, query):
    register_velzio(client, app)
    page = client.get(f"/velzio/?{query}")
    assert next_field(page.get_data(as_text=True)) == ""


def test_next_is_kept_through_a_failed_attempt(client, app):
    register_velzio(client, app)
    failed = log_in(client, {"next": "/velzio/account/password"}, password="Wrong1234")
    assert failed.status_code == 422
    html = failed.get_data(as_text=True)
    assert expected(app, "LOGIN_FAILED") in html
    assert next_field(html) == "/velzio/account/password"
    response = client.post(
        "/velzio/",
        data={
            "csrf_token": csrf_from(html),
            "next": next_field(html),
            "email": VELZIO_OK["email"],
            "password": VELZIO_OK["password"],
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/velzio/account/password"


def test_a_page_that_needs_login_is_returned_to_after_it(client, app):
    register_velzio(client, app)
    person = app.test_client()
    asked = person.get("/velzio/account/password")
    assert asked.status_code == 302
    assert asked.headers["Location"] == "/velzio/?next=/velzio/account/password"
    page = person.get(asked.headers["Location"]).get_data(as_text=True)
    assert expected(app, "LOGIN_REQUIRED") in page
    assert next_field(page) == "/velzio/account/password"
    response = person.post(
        "/velzio/",
        data={
            "csrf_token": csrf_from(page),
            "next": next_field(page),
            "email": VELZIO_OK["email"],
            "password": VELZIO_OK["password"],
        },
    )
    assert response.headers["Location"] == "/velzio/account/password"
    assert person.get("/velzio/account/password").status_code == 200


def test_a_post_that_needs_login_is_not_returned_to(client, app):
    # A redirect cannot repeat a form's POST: the login leads to the account page.
    html = client.get("/velzio/").get_data(as_text=True)
    response = client.post(
        "/velzio/account/preferences",
        data={"csrf_token": csrf_from(html)},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/velzio/"


def test_a_logged_in_person_opening_the_login_page_goes_to_next(client, app):
    register_velzio(client, app)
    assert log_in(client, {}).headers["Location"] == HOME
    response = client.get("/velzio/", query_string={"next": "/velzio/account/password"})
    assert response.headers["Location"] == "/velzio/account/password"
    response = client.get("/velzio/", query_string={"next": "//evil.example"})
    assert response.headers["Location"] == HOME


def test_login_with_htmx_returns_to_next_by_hx_redirect(client, app):
    register_velzio(client, app)
    response = log_in(client, {"next": "/velzio/account/password"}, **{"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/velzio/account/password"
    assert client.get("/velzio/account/password").status_code == 200


def test_an_embedded_login_may_return_to_an_embedded_page(client, app):
    register_velzio(client, app)
    client._cookies.clear()
    wanted = "/velzio/embed/account/"
    page = client.get("/velzio/embed/", query_string={"next": wanted})
    html = page.get_data(as_text=True)
    assert next_field(html) == wanted
    response = client.post(
        "/velzio/embed/",
        data={
            "csrf_token": csrf_from(html),
            "next": wanted,
            "email": VELZIO_OK["email"],
            "password": VELZIO_OK["password"],
        },
        headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == wanted

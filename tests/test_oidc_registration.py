"""Registering from an application's login: the emailed link leads back into
the application in the same browser, and to its start page on another device."""

from __future__ import annotations

from html import unescape
from urllib.parse import urlsplit

from support.data import VELZIO_OK
from support.forms import csrf_from, submit
from support.mail import link_in, outbox
from support.oidc import add_client, authlib_client, authorize_url, discover, follow, returned
from support.people import confirm


def start_registration(app, client):
    """From the portal's "Log in" to "check your email", registering."""
    client_id, _ = add_client(app, client_uri="https://portal.example/start")
    http = authlib_client(app, client_id)
    login_page = follow(client, authorize_url(http, discover(http), state="reg"))
    html = login_page.get_data(as_text=True)
    register = unescape(html.split('class="button" href="')[1].split('"')[0])
    assert urlsplit(register).path == "/velzio/register"
    response = submit(client, register, VELZIO_OK)
    assert response.status_code == 303
    return link_in(outbox(app, VELZIO_OK["email"])[-1], "/confirm/")


def test_the_link_opened_in_the_same_browser_goes_on_into_the_portal(app, client):
    link = start_registration(app, client)
    assert "next=" in link
    confirmed = confirm(client, link)
    login_page = follow(client, confirmed.headers["Location"])
    html = login_page.get_data(as_text=True)
    assert f'value="{VELZIO_OK["email"]}"' in html
    response = client.post(
        login_page.request.full_path,
        data={
            "csrf_token": csrf_from(html),
            "email": VELZIO_OK["email"],
            "password": VELZIO_OK["password"],
            "next": login_page.request.args["next"],
        },
    )
    answer = returned(follow(client, response.headers["Location"]))
    assert answer["state"] == "reg" and answer["code"]


def test_the_link_opened_on_another_device_leads_to_the_portals_start_page(app, client):
    link = start_registration(app, client)
    phone = app.test_client()
    confirmed = confirm(phone, link)
    page = follow(phone, confirmed.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'href="https://portal.example/start"' in html
    assert "Eiti į „Savitarnos portalas“" in html

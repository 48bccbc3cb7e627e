"""The demo portal (webapp/oidc/demo.py, Authlib's Flask client) on a second
origin logs a newcomer in through Savitarna: register, confirm, log in, back
on the portal with their name and email; log out ends both. In Lithuanian,
and in English through ui_locales."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from webapp.oidc.cli import create_client
from webapp.oidc.demo import portal_app

from .conftest import LiveServer
from .pages import Ui, unique_email

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def portal(live_server) -> Iterator[tuple[LiveServer, str]]:
    """The demo portal on localhost:<free port>, with its client at velzio."""
    server = make_server("127.0.0.1", 0, None, threaded=True)
    url = f"http://localhost:{server.server_port}"
    client_id = f"e2e-portal-{server.server_port}"
    with live_server.app.app_context():
        from support.apps import tenant

        create_client(
            tenant("velzio"),
            client_id=client_id,
            name="Demo portal",
            redirect_uris=[f"{url}/callback"],
            post_logout_redirect_uris=[f"{url}/"],
            public=True,
            first_party=True,
        )
    server.app = portal_app(live_server.url, "velzio", client_id=client_id)
    thread = threading.Thread(target=server.serve_forever, name="e2e-portal", daemon=True)
    thread.start()
    yield live_server, url
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_a_newcomer_registers_and_is_back_on_the_portal(page, portal, output):
    server, url = portal
    ui = Ui(page, server, "velzio", "lt")
    email = unique_email("portal-lt")
    page.goto(url + "/")
    page.get_by_role("link", name="Prisijungti / Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("Log in to the self-service"))
    page.get_by_role("link", name=ui.labels["register"]).click()
    ui.fill_residential(email)
    ui.submit()
    ui.expect_sent(email)
    ui.open_link(email, "confirm", "/confirm/")
    ui.confirm_email()
    expect(ui.field("login_email")).to_have_value(email)
    ui.field("password").fill("Slapta123")
    ui.button("log_in").click()
    expect(page).to_have_url(f"{url}/")
    expect(page.get_by_text("Sveiki, Ona!")).to_be_visible()
    expect(page.locator("#email")).to_have_text(email)
    page.screenshot(path=str(output / "oidc-portal-demo.png"), full_page=True)

    page.get_by_role("link", name="Atsijungti / Log out").click()
    expect(page).to_have_url(re.compile(re.escape(url) + r"/(\?state=bye)?$"))
    expect(page.get_by_text("Jūs neprisijungę.")).to_be_visible()
    ui.open("/account/")  # our session ended too
    expect(page.get_by_role("heading", level=1)).to_have_text(ui.t("Log in to the self-service"))


def test_ui_locales_en_shows_the_login_in_english(page, portal):
    server, url = portal
    ui = Ui(page, server, "velzio", "en")
    email = unique_email("portal-en")
    ui.open("/register")
    ui.fill_residential(email)
    ui.submit()
    ui.open_link(email, "confirm", "/confirm/")
    ui.confirm_email()
    page.context.clear_cookies()  # a new visit: the language comes from the portal alone
    page.goto(url + "/")
    page.get_by_role("link", name="Log in (English)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to the self-service")
    ui.log_in(email, "Slapta123")
    expect(page).to_have_url(f"{url}/")
    expect(page.locator("#email")).to_have_text(email)

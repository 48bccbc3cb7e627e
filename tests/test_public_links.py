"""Emailed links come from the configured public address, never from the Host a
request claims; hosts that are not ours get a 400 page; language links and
cacheable answers cannot be turned against a customer (SECURITY.md, issue 15
rows 1, 4, 5 and 12)."""

from __future__ import annotations

import re

import pytest
from support.apps import TENANTS_FILE, production_app
from support.forms import csrf_from, submit
from support.mail import outbox
from support.people import register_velzio
from support.texts import gettext_in

from webapp.config import ConfigError, load_config
from webapp.extensions import db
from webapp.tenants import TenantDataError, load_tenants

BAD_HOST_TEXT = (
    "This address is not one of ours. Open the self-service page from the website of your utility."
)


def forgot_from(client, host: str, headers: dict | None = None):
    page = client.get("/velzio/forgot", headers={"Host": host, **(headers or {})})
    return page, client.post(
        "/velzio/forgot",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "email": "ona@example.com"}
        if page.status_code == 200
        else {"email": "ona@example.com"},
        headers={"Host": host, **(headers or {})},
    )


def test_a_host_that_is_not_ours_gets_400_and_no_email(client, app):
    register_velzio(client, app)
    before = len(outbox(app, "ona@example.com"))
    page, response = forgot_from(client, "evil.example")
    assert page.status_code == 400
    assert response.status_code == 400
    assert gettext_in(app, BAD_HOST_TEXT) in response.get_data(as_text=True)
    assert len(outbox(app, "ona@example.com")) == before


def test_reset_link_uses_public_url_whatever_the_request_host(client, app):
    app.config["PUBLIC_URL"] = "https://savitarna.example.lt"
    register_velzio(client, app)
    page, response = forgot_from(client, "127.0.0.1:8000")
    assert response.status_code == 200
    body = outbox(app, "ona@example.com")[-1].text_body
    links = re.findall(r"https?://\S+", body)
    assert links, body
    assert all(link.startswith("https://savitarna.example.lt/velzio/") for link in links), links
    assert any("/velzio/reset/" in link for link in links)


def test_production_behind_a_proxy_refuses_a_forged_host(app, database, tmp_path, monkeypatch):
    """The attack as seen from outside: a forged Host (and X-Forwarded-Host) on
    'forgot password' behind a proxy that passes them on."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    production = production_app(database, tmp_path, TRUSTED_PROXIES=1).test_client()
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    page, response = forgot_from(production, "evil.example", forged)
    assert (page.status_code, response.status_code) == (400, 400)
    # Our own host, with a forwarded host the proxy should not have passed: the
    # link still points at PUBLIC_URL.
    register_velzio(app.test_client(), app)
    referer = {"Referer": "https://savitarna.example/velzio/forgot"}
    page, response = forgot_from(production, "savitarna.example", {**forged, **referer})
    assert response.status_code == 200
    body = outbox(app, "ona@example.com")[-1].text_body
    assert "evil.example" not in body
    assert "https://savitarna.example/velzio/reset/" in body


def test_production_refuses_to_start_without_an_https_public_url(tmp_path, monkeypatch):
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    settings = {"APP_ENV": "production", "SECRET_KEY": "s" * 32}
    with pytest.raises(ConfigError, match="PUBLIC_URL must be set"):
        load_config(tmp_path, settings)
    with pytest.raises(ConfigError, match="https"):
        load_config(tmp_path, {**settings, "PUBLIC_URL": "http://savitarna.example"})
    with pytest.raises(ConfigError, match="must look like"):
        load_config(tmp_path, {**settings, "PUBLIC_URL": "savitarna.example"})
    config = load_config(tmp_path, {**settings, "PUBLIC_URL": "https://savitarna.example/"})
    assert config["PUBLIC_URL"] == "https://savitarna.example"
    assert config["TRUSTED_HOSTS"] == ["savitarna.example"]


def tenants_with_public_url(tmp_path, url: str):
    """The demo tenants file, with Velžio on a host of its own."""
    text = TENANTS_FILE.read_text(encoding="utf-8")
    assert text.count('slug = "velzio"\n') == 1
    path = tmp_path / "tenants.toml"
    path.write_text(
        text.replace('slug = "velzio"\n', f'slug = "velzio"\npublic_url = "{url}"\n'),
        encoding="utf-8",
    )
    return path


def test_a_tenant_with_its_own_host_gets_links_on_it(client, app, tmp_path):
    app.config["TRUSTED_HOSTS"] = [*app.config["TRUSTED_HOSTS"], "savitarna.velzio.lt"]
    with app.app_context():
        load_tenants(tenants_with_public_url(tmp_path, "https://savitarna.velzio.lt/"))
    response = submit(
        client,
        "/velzio/register",
        {
            "first_name": "Ona",
            "last_name": "Onaitė",
            "email": "ona@example.com",
            "password": "Slapta123",
            "password2": "Slapta123",
            "terms": "y",
        },
    )
    assert response.status_code == 303
    body = outbox(app, "ona@example.com")[-1].text_body
    assert "https://savitarna.velzio.lt/velzio/confirm/" in body


def test_a_tenant_host_must_be_trusted(app, tmp_path):
    with app.app_context(), pytest.raises(TenantDataError, match="TRUSTED_HOSTS"):
        load_tenants(tenants_with_public_url(tmp_path, "https://savitarna.velzio.lt"))
        db.session.rollback()


HOSTILE_PATHS = ["/%5C127.0.0.2:5097/phish", "/%09/127.0.0.2/phish", "/%5C%5Cevil.example/x"]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_the_language_link_of_a_404_stays_on_our_site(client, path):
    response = client.get(path)
    assert response.status_code == 404
    links = re.findall(r'href="([^"]*lang=[^"]*)"', response.get_data(as_text=True))
    assert links
    for link in links:
        assert link.startswith("/") and not link.startswith(("//", "/\\")), link
        assert "127.0.0.2" not in link and "evil" not in link and "\t" not in link


def test_the_language_link_keeps_the_page_and_its_query(client):
    html = client.get("/velzio/register?utm=x").get_data(as_text=True)
    assert 'href="/velzio/register?utm=x&amp;lang=en"' in html


@pytest.mark.parametrize("host", ["a..b", "-", "exa mple.com"])
def test_a_malformed_host_gets_the_400_page(client, app, host):
    response = client.get("/velzio/", headers={"Host": host})
    assert response.status_code == 400
    assert gettext_in(app, BAD_HOST_TEXT) in response.get_data(as_text=True)


def test_cacheable_answers_set_no_cookie(client):
    for path in ("/velzio/brand.css?lang=en", "/velzio/manifest.webmanifest?lang=en"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.cache_control.public, path
        assert "Set-Cookie" not in response.headers, path
    # A page still remembers the choice.
    assert "lang=en" in client.get("/velzio/register?lang=en").headers["Set-Cookie"]

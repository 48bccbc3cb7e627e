"""The registration page is rendered once per instance and then served with each
visitor's own CSRF token (webapp/pagecache.py): what a visitor sees and can do
is the same as with a page rendered for them."""

import gzip

import brotli
import pytest
from support.apps import TENANTS_FILE, base_config
from support.forms import csrf_from, without_csrf

from webapp import create_app

VELZIO_INTRO = "Savitarnos paslaugomis galite naudotis, jeigu turite"


def page(client, path="/velzio/register", language="lt"):
    response = client.get(path, headers={"Accept-Language": language})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_kept_page_is_the_rendered_page_with_each_visitors_own_token(app):
    first, second, fresh = app.test_client(), app.test_client(), app.test_client()
    html_first, html_second = page(first), page(second)
    app.config["PAGE_CACHE"] = False
    rendered = page(fresh)
    assert without_csrf(html_first) == without_csrf(html_second) == without_csrf(rendered)
    assert csrf_from(html_first) != csrf_from(html_second)
    # The session is left as a rendered page leaves it (the token, Flask-Login's mark).
    sessions = []
    for client in (first, second, fresh):
        with client.session_transaction() as session:
            sessions.append(sorted(session))
    assert sessions[0] == sessions[1] == sessions[2] == ["_fresh", "csrf_token"]

    # Each token is its visitor's: it works with its own session only.
    for client, token, status in (
        (first, csrf_from(html_first), 200),
        (second, csrf_from(html_first), 400),
    ):
        answer = client.post(
            "/velzio/register/check/email",
            data={"csrf_token": token, "email": "someone@example.com"},
            headers={"HX-Request": "true", "Accept-Language": "lt"},
        )
        assert answer.status_code == status


def test_each_tenant_and_language_gets_its_own_page(client):
    velzio_lt, velzio_en = page(client), page(client, language="en")
    elektrum = page(client, "/elektrum/register")
    assert '<html lang="lt"' in velzio_lt and VELZIO_INTRO in velzio_lt
    assert '<html lang="en"' in velzio_en and "You can use the self-service" in velzio_en
    assert 'name="company_code"' in elektrum and 'name="company_code"' not in velzio_lt
    assert page(client, "/velzio/register?lang=en").count('<html lang="en"') == 1


def test_a_tenant_change_shows_on_the_next_page(client, app, tmp_path):
    assert VELZIO_INTRO in page(client)
    changed = TENANTS_FILE.read_text(encoding="utf-8").replace(VELZIO_INTRO, "Nauja įžanga:")
    path = tmp_path / "tenants.toml"
    path.write_text(changed, encoding="utf-8")
    assert app.test_cli_runner().invoke(args=["tenants", "load", str(path)]).exit_code == 0
    html = page(client)
    assert "Nauja įžanga:" in html and VELZIO_INTRO not in html


def test_a_waiting_notice_is_shown_once(client):
    page(client)
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Pranešimas lankytojui")]
    assert "Pranešimas lankytojui" in page(client)
    assert "Pranešimas lankytojui" not in page(client)


def test_the_kept_login_page_is_the_rendered_page_with_each_visitors_own_token(app):
    """The login page (two forms, both with the token: the password's and the
    passkey button's) is kept the same way, with and without ?next=."""
    for path in ("/velzio/", "/velzio/?next=/velzio/account/"):
        first, second, fresh = app.test_client(), app.test_client(), app.test_client()
        app.config["PAGE_CACHE"] = True
        html_first, html_second = page(first, path), page(second, path)
        app.config["PAGE_CACHE"] = False
        rendered = page(fresh, path)
        assert without_csrf(html_first) == without_csrf(html_second) == without_csrf(rendered)
        assert html_first.count(csrf_from(html_first)) == 2
        assert csrf_from(html_second) in html_second and csrf_from(html_first) not in html_second
        sessions = []
        for client in (first, second, fresh):
            with client.session_transaction() as session:
                sessions.append(sorted(session))
        assert sessions[0] == sessions[1] == sessions[2]
    assert 'value="/velzio/account/"' in html_first
    # The kept page's token logs in as well as a rendered page's does (a wrong
    # password answers 422, an expired token 400).
    answer = first.post(
        "/velzio/",
        data={"csrf_token": csrf_from(html_first), "email": "nobody@example.com", "password": "x"},
        headers={"Accept-Language": "lt"},
    )
    assert answer.status_code == 422


def test_a_login_page_with_an_email_in_it_is_never_kept(app, client):
    """An application's login_hint, or the address a visitor was sent back with,
    fills the form: that page is that visitor's, rendered and not kept."""
    hinted = page(client, "/velzio/?login_hint=ona%40example.com")
    assert 'value="ona@example.com"' in hinted
    assert "ona@example.com" not in page(app.test_client(), "/velzio/")
    with client.session_transaction() as session:
        session["login_email"] = "jonas@example.com"
    assert 'value="jonas@example.com"' in page(client, "/velzio/")
    assert "jonas@example.com" not in page(app.test_client(), "/velzio/")
    kept = app.extensions.get("savitarna.pages", {})
    assert not [page for page in kept.values() if "@example.com" in "".join(page.parts)]


@pytest.mark.parametrize("path", ["/velzio/register", "/elektrum/register", "/velzio/"])
def test_the_kept_page_comes_gzipped_and_is_the_same_page(app, path):
    """A kept page is gzipped once, in pieces around the token (two on the
    login page): a browser unpacks the page with its visitor's own token,
    the same as a rendered page compressed by Flask-Compress."""
    browser = {"Accept-Encoding": "gzip, deflate, br, zstd", "Accept-Language": "lt"}
    visitors = [app.test_client() for _ in range(3)]
    answers = [visitor.get(path, headers=browser) for visitor in visitors]
    pages = []
    for answer in answers:
        assert answer.status_code == 200
        assert answer.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in answer.headers["Vary"]
        assert answer.content_length == len(answer.get_data())
        pages.append(gzip.decompress(answer.get_data()).decode())
    app.config["PAGE_CACHE"] = False
    rendered = visitors[0].get(path, headers=browser)
    assert rendered.headers["Content-Encoding"] == "br"  # Flask-Compress's choice
    fresh = brotli.decompress(rendered.get_data()).decode()
    assert len({without_csrf(page) for page in [*pages, fresh]}) == 1
    tokens = [csrf_from(page) for page in pages]
    assert len(set(tokens)) == 3
    answer = visitors[1].post(
        f"{path.removesuffix('/')}/check/email" if "register" in path else path,
        data={"csrf_token": tokens[1], "email": "someone@example.com", "password": "x"},
        headers={"HX-Request": "true", "Accept-Language": "lt"} if "register" in path else {},
    )
    assert answer.status_code in (200, 422)  # checked or refused, never 400 (CSRF)


def test_a_browser_that_takes_no_gzip_gets_the_page_as_flask_compress_gives_it(app):
    client = app.test_client()
    page(client)  # kept
    plain = client.get("/velzio/register", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert 'name="csrf_token"' in plain.get_data(as_text=True)
    refused = client.get("/velzio/register", headers={"Accept-Encoding": "gzip;q=0, br"})
    assert refused.headers["Content-Encoding"] == "br"
    assert 'name="csrf_token"' in brotli.decompress(refused.get_data()).decode()


def test_with_compression_left_to_a_proxy_the_kept_page_goes_as_it_is(app, database, tmp_path):
    """COMPRESS_RESPONSES=0: the reverse proxy compresses, so the app does not."""
    proxied = create_app(base_config(tmp_path, database, COMPRESS_REGISTER=False))
    client = proxied.test_client()
    for _ in range(2):  # rendered and kept, then from the copy
        answer = client.get("/velzio/register", headers={"Accept-Encoding": "gzip, br"})
        assert answer.status_code == 200 and "Content-Encoding" not in answer.headers
        assert 'name="csrf_token"' in answer.get_data(as_text=True)

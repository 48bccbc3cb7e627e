"""What keeps a first visit small (issue #13, bench/first_visit.py): documents
and workers carry the security headers that matter to them, other answers a
minimal policy; development serves static files compressed like production;
htmx is named on the page for static/js/app.js to load on first use."""

import brotli
import pytest
from support.apps import base_config

from webapp import create_app
from webapp.security_headers import CSP, SUBRESOURCE_CSP

BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}
DOCUMENT_ONLY = ("Permissions-Policy", "Cross-Origin-Opener-Policy", "Referrer-Policy")


@pytest.mark.parametrize("path", ["/velzio/brand.css", "/velzio/manifest.webmanifest", "/healthz"])
def test_stylesheets_manifests_and_json_get_nosniff_and_a_policy_that_runs_nothing(client, path):
    response = client.get(path, headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == SUBRESOURCE_CSP
    assert "default-src 'none'" in SUBRESOURCE_CSP and "frame-ancestors 'none'" in SUBRESOURCE_CSP
    assert [name for name in DOCUMENT_ONLY if name in response.headers] == []


@pytest.mark.parametrize("path", ["/velzio/register", "/velzio/offline", "/velzio/sw.js"])
def test_pages_and_the_worker_keep_every_security_header(client, path):
    """The worker's script too: its policy is the worker's (connect-src for its fetches)."""
    response = client.get(path, headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert all(name in response.headers for name in DOCUMENT_ONLY)


def test_a_stylesheet_keeps_its_cache_policy(client):
    response = client.get("/velzio/brand.css")
    assert response.cache_control.public and response.cache_control.max_age == 300
    assert not response.cache_control.no_store
    # An answer that is not a document but personal enough not to keep: still no-store.
    assert "no-store" in client.get("/readyz").headers["Cache-Control"]


@pytest.fixture
def development_client(database, tmp_path, monkeypatch):
    """The app as development serves it: static/ unversioned, through Flask."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(base_config(tmp_path, database, STATIC_VERSIONED=False))
    return app.test_client()


@pytest.mark.parametrize("name", ["css/app.css", "js/app.js", "vendor/htmx-2.0.11.min.js"])
def test_development_serves_static_files_brotli_compressed_at_its_best(development_client, name):
    from webapp.config import PROJECT_ROOT

    original = (PROJECT_ROOT / "static" / name).read_bytes()
    response = development_client.get(f"/static/{name}", headers=BROWSER)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in response.headers["Vary"]
    body = response.get_data()
    assert brotli.decompress(body) == original
    assert body == brotli.compress(original, quality=11)
    assert response.headers["Content-Security-Policy"] == (
        CSP if name.endswith(".js") else SUBRESOURCE_CSP
    )
    # Revalidation answers 304 (the worker's precache asks so in development).
    again = development_client.get(
        f"/static/{name}", headers={**BROWSER, "If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    # A browser without Brotli gets the file as it is (Flask-Compress may gzip it).
    plain = development_client.get(f"/static/{name}", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.get_data() == original


def test_the_page_names_htmx_for_app_js_and_loads_no_script_of_it_itself(client):
    html = client.get("/velzio/register").get_data(as_text=True)
    assert 'data-htmx="/static/vendor/htmx-2.0.11.min.' in html
    assert '<script src="/static/vendor/htmx' not in html

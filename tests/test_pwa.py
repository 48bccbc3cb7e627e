"""The web app's files (manifest, service worker, offline page) and the static
files: versioned names, compression, cache headers. The service worker's
behaviour in a browser is in e2e/test_pwa.py."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from pathlib import Path

import brotli
import pytest
from flask import render_template_string
from support.apps import base_config

from webapp import create_app
from webapp.assets import assets, build, hashed_name

TENANTS = {
    "velzio": ("MOKESTA savitarna", "#1b5e20"),
    "elektrum": ("Elektrum verslo savitarna", "#b34700"),
}
YEAR = "max-age=31536000, public, immutable"


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"]+)"', html)


def fetch(client, url: str, encoding: str = "br"):
    response = client.get(url, headers={"Accept-Encoding": encoding})
    data = response.get_data()
    response.close()
    return response, data


@pytest.mark.parametrize("slug", TENANTS)
@pytest.mark.parametrize("lang", ["lt", "en"])
def test_manifest_names_the_utility_in_its_colours(client, slug, lang):
    response = client.get(f"/{slug}/manifest.webmanifest?lang={lang}")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert "lang" not in response.headers.get("Set-Cookie", "")
    manifest = json.loads(response.get_data())
    name, colour = TENANTS[slug]
    assert manifest["name"] == name and manifest["lang"] == lang
    assert manifest["start_url"] == manifest["scope"] == manifest["id"] == f"/{slug}/"
    assert manifest["theme_color"] == colour and manifest["display"] == "standalone"
    pngs = {(icon["sizes"], icon["purpose"]): icon["src"] for icon in manifest["icons"]}
    assert set(pngs) >= {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    for src in pngs.values():
        assert src.startswith(f"/static/tenants/{slug}/")
        icon, data = fetch(client, src)
        assert icon.status_code == 200 and icon.mimetype.startswith("image/")
        if src.endswith(".png"):
            assert data.startswith(b"\x89PNG")


def test_unknown_tenant_has_no_manifest_or_worker(client):
    assert client.get("/nope/manifest.webmanifest").status_code == 404
    assert client.get("/nope/sw.js").status_code == 404
    assert client.get("/nope/offline").status_code == 404


@pytest.mark.parametrize("slug", TENANTS)
def test_pages_link_the_manifest_and_the_worker(client, slug):
    response = client.get(f"/{slug}/register?lang=en")
    html = response.get_data(as_text=True)
    assert f'<link rel="manifest" href="/{slug}/manifest.webmanifest?lang=en"' in html
    assert f'data-service-worker="/{slug}/sw.js"' in html
    assert f'<meta name="theme-color" content="{TENANTS[slug][1]}">' in html
    csp = response.headers["Content-Security-Policy"]
    assert "manifest-src 'self'" in csp and "worker-src 'self'" in csp
    # Registered from the site's own script: the CSP allows no inline script.
    assert "serviceWorker" not in html


def worker_settings(client, slug: str = "velzio") -> dict:
    response = client.get(f"/{slug}/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    script = response.get_data(as_text=True)
    return json.loads(re.search(r"^const SETTINGS = (.*);$", script, re.M).group(1))


def test_worker_keeps_only_offline_pages_and_the_files_they_need(client):
    settings = worker_settings(client)
    assert settings["scope"] == "/velzio/"
    assert settings["offline"] == {"lt": "/velzio/offline?lang=lt", "en": "/velzio/offline?lang=en"}
    static = [path for path in settings["precache"] if path.startswith("/static/")]
    others = [path for path in settings["precache"] if not path.startswith("/static/")]
    assert sorted(others) == sorted([*settings["offline"].values(), "/velzio/brand.css"])
    # Every static file it keeps is a versioned one, so the worker never holds a stale copy.
    assert static and all(re.search(r"\.[0-9a-f]{12}\.(css|js|svg)$", path) for path in static)
    assert not [path for path in settings["precache"] if "account" in path or "register" in path]
    assert settings["bypass"] == ["/velzio/embed/"]


def test_worker_cache_is_named_after_the_release_and_the_tenant(client, app):
    first = worker_settings(client)["cache"]
    assert re.fullmatch(r"savitarna-velzio-[0-9a-f]{12}", first)
    assert worker_settings(client, "elektrum")["cache"].startswith("savitarna-elektrum-")
    assert worker_settings(client)["cache"] == first
    assets(app).release = "a-new-release"
    assert worker_settings(client)["cache"] != first


@pytest.mark.parametrize(
    ("lang", "heading"), [("lt", "Nėra interneto ryšio"), ("en", "You are offline")]
)
def test_offline_page_is_translated_and_keeps_no_session(client, lang, heading):
    response = client.get(f"/velzio/offline?lang={lang}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}"' in html and f"<h1>{heading}</h1>" in html
    assert "<form" not in html and "csrf_token" not in html
    # The worker fetches it in both languages: neither becomes the person's choice.
    assert "Set-Cookie" not in response.headers


def test_static_files_versioned_compressed_and_cached_for_a_year(client):
    html = client.get("/velzio/register").get_data(as_text=True)
    urls = static_urls(html)
    assert "/static/css/app.css" not in urls
    css = next(url for url in urls if url.startswith("/static/css/app."))
    content = (Path(client.application.static_folder) / "css" / "app.css").read_bytes()
    assert css == "/static/" + hashed_name("css/app.css", content)

    for encoding, decompress in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        response, data = fetch(client, css, encoding)
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == encoding
        assert response.headers["Cache-Control"] == YEAR
        assert "Accept-Encoding" in response.headers["Vary"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert len(data) < len(content) / 2 and decompress(data) == content
    response, data = fetch(client, css, "identity")
    assert "Content-Encoding" not in response.headers and data == content

    # The plain name still answers (a host page's embed script, an old link), briefly cached.
    response, data = fetch(client, "/static/css/app.css")
    assert (
        response.status_code == 200 and response.headers["Cache-Control"] == "max-age=3600, public"
    )
    assert brotli.decompress(data) == content


def test_htmx_is_pinned_with_its_integrity_hash(client):
    html = client.get("/velzio/register").get_data(as_text=True)
    # static/js/app.js loads it, with this integrity, when the page is first used.
    tag = re.search(
        r'data-htmx="(/static/vendor/htmx-2\.0\.11\.min\.[0-9a-f]{12}\.js)" '
        r'data-htmx-integrity="([^"]+)"',
        html,
    )
    assert tag, "htmx 2.0.11 with a versioned name and an integrity hash"
    _, data = fetch(client, tag.group(1), "identity")
    digest = base64.b64encode(hashlib.sha384(data).digest()).decode()
    assert tag.group(2) == f"sha384-{digest}"
    assert digest == "2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_pages_and_fragments_are_compressed(client, encoding):
    response = client.get("/velzio/register", headers={"Accept-Encoding": encoding})
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert "no-store" in response.headers["Cache-Control"]
    plain = client.get("/velzio/register").get_data()
    assert len(response.get_data()) < len(plain) / 2


def test_build_writes_hashed_twins_and_compressed_versions(tmp_path):
    source, target = tmp_path / "static", tmp_path / "build"
    (source / "css").mkdir(parents=True)
    (source / "css" / "site.css").write_text("body { color: red; }\n" * 50)
    (source / "README.md").write_text("notes")
    names = build(source, target)
    hashed = names["css/site.css"]
    assert re.fullmatch(r"css/site\.[0-9a-f]{12}\.css", hashed)
    for name in (hashed, "css/site.css"):
        assert (target / name).read_bytes() == (source / "css" / "site.css").read_bytes()
        assert brotli.decompress((target / f"{name}.br").read_bytes()).startswith(b"body")
        assert gzip.decompress((target / f"{name}.gz").read_bytes()).startswith(b"body")
    assert "README.md" not in names and not (target / "README.md").exists()

    (source / "css" / "site.css").write_text("body { color: blue; }\n" * 50)
    changed = build(source, target)["css/site.css"]
    assert changed != hashed and (target / changed).is_file() and (target / hashed).is_file()
    assert b"blue" in (target / "css" / "site.css").read_bytes()


def test_unversioned_when_switched_off(tmp_path):
    app = create_app(
        {**base_config(tmp_path, f"sqlite:///{tmp_path / 'x.sqlite'}"), "STATIC_VERSIONED": False}
    )
    with app.test_request_context():
        from flask import url_for

        assert url_for("static", filename="css/app.css") == "/static/css/app.css"
    assert assets(app).names == {} and assets(app).release


@pytest.mark.parametrize("embed", [False, True])
def test_embedded_pages_have_no_manifest_or_worker(app, embed):
    """Embed mode (an `embed` template variable) leaves the web app out: those
    pages live in other sites' frames."""
    with app.test_request_context("/velzio/register"):
        app.preprocess_request()
        html = render_template_string('{% extends "base.html" %}{% set title = "x" %}', embed=embed)
    assert ('rel="manifest"' in html) is not embed
    assert ("data-service-worker" in html) is not embed

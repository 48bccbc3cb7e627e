"""What a utility's web app is made of: the manifest's contents and the service
worker's settings. Kept apart from the views so both are plain data to test."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import current_app, request, url_for

from ..assets import assets
from ..tenants import TenantSettings

ICON_SIZES = (("icon-192.png", "192x192", "any"), ("icon-512.png", "512x512", "any"))
MASKABLE = ("icon-maskable-512.png", "512x512", "maskable")
# What every page of a utility loads (templates/base.html): kept by the service
# worker so the offline page looks like the rest. Not htmx: the offline page has
# nothing it would do, and static/js/app.js loads it only on a page that has.
PAGE_ASSETS = ("css/app.css", "js/app.js")


def tenant_root(settings: TenantSettings) -> str:
    return f"{request.script_root}/{settings.slug}/"


def icons(settings: TenantSettings) -> list[dict[str, str]]:
    """The utility's PNG icons (static/tenants/<slug>/icon-*.png) or, where it has
    none, Savitarna's own; and its SVG logo, for browsers that take one."""
    static = Path(current_app.static_folder)
    folder = f"tenants/{settings.slug}"
    if not (static / folder / ICON_SIZES[0][0]).is_file():
        folder = "icons"
    listed = [
        {
            "src": url_for("static", filename=f"{folder}/{name}"),
            "sizes": sizes,
            "type": "image/png",
            "purpose": purpose,
        }
        for name, sizes, purpose in (*ICON_SIZES, MASKABLE)
    ]
    if settings.logo and settings.logo.endswith(".svg"):
        logo = url_for("static", filename=settings.logo)
        listed.append({"src": logo, "sizes": "any", "type": "image/svg+xml", "purpose": "any"})
    return listed


def web_app_manifest(settings: TenantSettings, language: str) -> dict:
    """The W3C web app manifest of one utility in one language."""
    root = tenant_root(settings)
    return {
        "id": root,
        "name": settings.product_name,
        "lang": language,
        "dir": "ltr",
        "start_url": root,
        "scope": root,
        "display": "standalone",
        "theme_color": settings.brand_primary,
        "background_color": "#ffffff",
        "icons": icons(settings),
    }


def service_worker_settings(settings: TenantSettings) -> dict:
    """The service worker's data: what it keeps, where, and the version that
    names its cache. The version changes with any static file, template or
    catalogue (the release digest) and with the utility's settings, so a new
    release installs a new worker that replaces the old cache."""
    root = tenant_root(settings)
    languages = current_app.config["LANGUAGES"]
    offline = {lang: url_for("pwa.offline", lang=lang) for lang in languages}
    precache = [*offline.values(), url_for("main.brand")]
    precache += [url_for("static", filename=name) for name in PAGE_ASSETS]
    if settings.logo:
        precache.append(url_for("static", filename=settings.logo))
    release = assets(current_app).release
    tenant_digest = json.dumps(settings.raw, sort_keys=True, default=str)
    version = hashlib.sha256(f"{release}:{tenant_digest}".encode()).hexdigest()[:12]
    return {
        "cache": f"savitarna-{settings.slug}-{version}",
        "cachePrefix": f"savitarna-{settings.slug}-",
        "scope": root,
        "offline": offline,
        "offlineCurrent": url_for("pwa.offline"),
        "defaultLanguage": languages[0],
        "precache": precache,
        # Embedded forms live in other sites' frames: no offline page of ours there.
        "bypass": [f"{root}embed/"],
    }

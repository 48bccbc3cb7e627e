"""A utility's web app manifest, service worker and offline page."""

from __future__ import annotations

import json

from flask import g, make_response, render_template
from flask_babel import get_locale

from ..htmx import render
from . import bp
from .app import service_worker_settings, web_app_manifest


@bp.get("/<tenant>/manifest.webmanifest")
def manifest():
    """The web app manifest: the utility's name, colours and icons, its pages as
    the app's scope. The language comes in the URL (browsers fetch manifests
    without cookies)."""
    body = json.dumps(web_app_manifest(g.settings, str(get_locale())), ensure_ascii=False)
    g.pop("lang_chosen", None)  # the language asked for here is not the person's choice
    response = make_response(body)
    response.mimetype = "application/manifest+json"
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.get("/<tenant>/sw.js")
def service_worker():
    """The service worker, served from the utility's path so that its scope is
    exactly the utility's pages. Browsers check it for updates on navigation;
    no-cache makes that check reach the server."""
    script = render_template("pwa/sw.js", settings=service_worker_settings(g.settings))
    response = make_response(script)
    response.mimetype = "text/javascript"
    response.cache_control.no_cache = True
    return response


@bp.get("/<tenant>/offline")
def offline():
    """The page the service worker shows when a page cannot be reached. It holds
    no form and nothing personal, so the service worker may keep it."""
    response = render("pwa/offline.html")
    # The worker fetches it in every language: that is not the person's choice.
    g.pop("lang_chosen", None)
    response.cache_control.no_cache = True
    return response

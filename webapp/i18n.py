"""Language choice: an explicit `?lang=` (remembered in a cookie), then the
cookie, then the browser's Accept-Language; Lithuanian when nothing matches."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, g, request, url_for
from werkzeug.routing import BuildError

LANG_COOKIE = "lang"
LANGUAGE_NAMES = {"lt": "Lietuvių", "en": "English"}


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
    if asked not in languages:
        # OpenID Connect's ui_locales: the first of ours in the client's list.
        wanted = request.args.get("ui_locales", "")[:100].split()
        asked = next(
            (code.split("-")[0] for code in wanted if code.split("-")[0] in languages), None
        )
    if asked in languages:
        g.lang_chosen = asked
        return asked
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in languages:
        return cookie
    return request.accept_languages.best_match(languages, default=languages[0])


def remember_language(response):
    """after_request: keep an explicit choice for the next pages."""
    chosen = g.get("lang_chosen")
    # A frame keeps its language in its links (webapp/embed), not in a cookie
    # that a third-party frame would not get back.
    # A publicly cacheable answer (brand.css, the manifest) must not carry a
    # cookie: a shared cache would hand it to everyone.
    cacheable = response.cache_control.public
    if (
        chosen
        and not cacheable
        and not g.get("embed")
        and request.cookies.get(LANG_COOKIE) != chosen
    ):
        response.set_cookie(
            LANG_COOKIE,
            chosen,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
        )
    return response


def language_url(code: str) -> str:
    """This page in another language (a GET; a form page opens empty again).
    Built from the matched route, never from the raw path: `/%5Cevil.example`
    would otherwise become `href="/\\evil.example"`, which browsers follow off-site.
    A page without a route (404) links to the start page in that language."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    try:
        path = url_for(request.endpoint, **(request.view_args or {})) if request.url_rule else None
    except BuildError:  # a route whose tenant does not exist (a 404)
        path = None
    if path is None:
        tenant = g.get("tenant_slug")
        path = url_for("auth.login", tenant=tenant) if tenant else url_for("main.index")
        args = []
    return f"{path}?{urlencode([*args, ('lang', code)])}"

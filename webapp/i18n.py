"""Language choice: an explicit `?lang=` (remembered in a cookie), then the
cookie, then the browser's Accept-Language; Lithuanian when nothing matches."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, g, request

LANG_COOKIE = "lang"
LANGUAGE_NAMES = {"lt": "Lietuvių", "en": "English"}


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    asked = request.args.get("lang")
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
    if chosen and not g.get("embed") and request.cookies.get(LANG_COOKIE) != chosen:
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
    """This page in another language (a GET; a form page opens empty again)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return f"{request.path}?{urlencode([*args, ('lang', code)])}"

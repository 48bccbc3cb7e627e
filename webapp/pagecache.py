"""Blank-form pages rendered once per instance: the registration and login pages.

A first visit to a registration page is the same page for every visitor of a
tenant in a language, but for one value, the visitor's CSRF token. Rendering it
(a dozen form-field macros, each with its translated texts and htmx attributes)
is most of the page's server time (`make profile CASE=page`), so each instance
keeps the rendered page for (template, tenant row and its version, language,
host, path and query) with the token cut out, and puts this visitor's token back in.

Nothing personal is kept: only pages rendered for a visitor who is not logged
in, has no flashed message waiting, is not in a frame (embed mode) and asked by
a plain GET (not htmx). A page without the token is never kept (the login page
holds it twice: its form's and the passkey button's). A tenant's change
(`flask tenants load` sets its `updated_at`) gives new keys, so it shows as
soon as the instance sees the new row; translations and templates change only
with a restart.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, g, make_response, render_template, request, session
from flask_babel import get_locale
from flask_login import current_user

from .embed.csrf import form_token
from .htmx import render, wants_fragment

# Pages kept per instance (two tenants x two languages x a few query strings);
# when full, the cache starts again (any text may be sent as a query string).
MAX_PAGES = 64
# Flask's key of waiting flashes.
FLASHES_KEY = "_flashes"


def blank_form_page(template: str, context: Callable[[], dict]) -> Response:
    """`render(template, **context())` for a GET, from the instance's copy when
    the page is the same for every visitor (see the module's docstring)."""
    tenant = g.get("tenant")
    if (
        request.method != "GET"
        or tenant is None
        or g.get("embed")
        or wants_fragment()
        or not current_app.config.get("PAGE_CACHE", True)
    ):
        return render(template, **context())
    # This visitor's token first, stored in the session, then the user asked
    # for, both in the order the page's template asks (the form, then
    # Flask-Login's context processor), so the session ends up the same.
    token = form_token()
    if current_user.is_authenticated or FLASHES_KEY in session:
        return render(template, **context())
    # The host too: a page asked at an IP address says where passkeys work
    # instead (templates/factors/_passkey_note.html).
    key = (
        template,
        tenant.id,
        tenant.updated_at,
        str(get_locale()),
        request.host,
        request.full_path,
    )
    pages: dict = current_app.extensions.setdefault("savitarna.pages", {})
    parts = pages.get(key)
    if parts is None:
        html = render_template(template, **context())
        parts = tuple(html.split(token))
        if len(parts) < 2:
            return _response(html)
        if len(pages) >= MAX_PAGES:
            pages.clear()
        pages[key] = parts
    return _response(token.join(parts))


def _response(html: str) -> Response:
    response = make_response(html, 200)
    response.vary.add("HX-Request")
    return response

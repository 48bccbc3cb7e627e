"""Forms as a browser with JavaScript off (or htmx) posts them: the page's CSRF
token, then the data."""

from __future__ import annotations

import re

# The one CSRF-token pattern: the hidden field as Flask-WTF renders it, in any
# attribute order (form fields have type="hidden" first, the logout form not).
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TITLE_RE = re.compile(r"<title>(.*?)</title>", re.S)


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on the page."""
    match = CSRF_RE.search(html)
    assert match, "the page has no CSRF token field"
    return match.group(1)


def without_csrf(html: str) -> str:
    """A page with its CSRF token values removed, to compare two sessions' pages."""
    return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+"', r'\1"', html)


def submit(client, page: str, data: dict, action: str | None = None, headers=None, **kwargs):
    """Open `page`, then post `data` (plus the page's CSRF token) to `action` or
    back to the page, as a browser with JavaScript off would."""
    html = client.get(page, headers={"Accept-Language": "lt"}).get_data(as_text=True)
    payload = {"csrf_token": csrf_from(html), **data}
    return client.post(action or page, data=payload, headers=headers or {}, **kwargs)


def htmx_post(client, url: str, data: dict, page: str, **headers):
    """Post as htmx would from `page`: HX-Request and the form's CSRF token."""
    html = client.get(page, headers={"Accept-Language": "lt"}).get_data(as_text=True)
    return client.post(
        url,
        data={"csrf_token": csrf_from(html), **data},
        headers={"HX-Request": "true", "Accept-Language": "lt", **headers},
    )


def title_of(html: str) -> str:
    match = TITLE_RE.search(html)
    assert match, "the page has no <title>"
    return match.group(1)

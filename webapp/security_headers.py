"""Response headers that hold for every page."""

from __future__ import annotations

from flask import current_app, g, request

_POLICY = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "worker-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
]
CSP = "; ".join([*_POLICY, "frame-ancestors 'self'"])
# Pages that must never be framed, not even by us: the OpenID Connect
# authorization and consent pages (a framed "Allow" button is clickjacking).
NO_FRAMES_CSP = "; ".join([*_POLICY, "frame-ancestors 'none'"])


def never_framed(response):
    """The response with headers that forbid framing it anywhere."""
    response.headers["Content-Security-Policy"] = NO_FRAMES_CSP
    response.headers["X-Frame-Options"] = "DENY"
    return response


def embed_csp(origins: tuple[str, ...]) -> str:
    """The policy of an embed page: only the tenant's listed sites may frame it."""
    return "; ".join([*_POLICY, "frame-ancestors " + (" ".join(origins) or "'none'")])


# What a document or a worker needs. Other answers (stylesheets, images, the
# manifest, JSON) are never run as a page: they get nosniff, which makes the
# browser take them only as what they say they are, and a policy that runs
# nothing should one be opened as a page. The full set of headers on each of
# them was a fifth of a first visit's bytes (bench/first_visit.py).
POLICED_TYPES = frozenset({"text/html", "text/javascript", "application/javascript"})
SUBRESOURCE_CSP = "default-src 'none'; frame-ancestors 'none'"


def set_security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.is_secure and current_app.config["APP_ENV"] == "production":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if response.mimetype not in POLICED_TYPES:
        headers.setdefault("Content-Security-Policy", SUBRESOURCE_CSP)
        _cache_policy(response)
        return response
    if g.get("embed"):
        settings = g.get("settings")
        origins = settings.embed_origins if settings else ()
        headers.setdefault("Content-Security-Policy", embed_csp(origins))
        # X-Frame-Options would override frame-ancestors in older browsers.
        headers.pop("X-Frame-Options", None)
    headers.setdefault("Content-Security-Policy", CSP)
    # same-origin keeps the full Referer for our own POSTs (Flask-WTF's HTTPS
    # check needs it) and sends nothing, not even tokens in paths, elsewhere.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    _cache_policy(response)
    return response


def _cache_policy(response) -> None:
    # Stylesheets and the web app's files say how long they keep (webapp/pwa/views.py).
    if request.endpoint and not request.endpoint.startswith(("static", "main.brand", "pwa.")):
        response.cache_control.no_store = True

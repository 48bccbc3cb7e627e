"""Embed mode: registration and login inside a utility's own website (an iframe
on another origin), with the same views, forms and templates as the full site.

A tenant is addressed as `<slug>/embed` (e.g. `/velzio/embed/register`): the
`tenant` URL converter accepts the suffix, `pull_embed` turns it into
`g.embed`, and `add_embed` keeps the links between embeddable pages inside the
frame. base.html drops the site chrome when `embed` is set.

The frame may get no cookies at all (Safari, Chrome with third-party cookies
blocked), so form posts in embed mode are protected without the session: a
signed, expiring, tenant-bound form token in the usual `csrf_token` field, and
an Origin / Sec-Fetch-Site check that only lets the app's own pages post.
Everything else keeps Flask-WTF's session-bound CSRF protection."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from flask import Flask, abort, current_app, g, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from werkzeug.routing import BaseConverter
from wtforms.csrf.core import CSRF

from .extensions import csrf

SUFFIX = "/embed"
# The pages a frame may show; any other page of a tenant answers 404 under
# /<slug>/embed/ (it is shown top-level, where links to it lead).
EMBEDDABLE = frozenset(
    {
        "registration.register",
        "registration.check_field",
        "registration.customer",
        "registration.sent",
        "auth.login",
        "auth.logout",
        "auth.password_rules",
        "account.home",
        "account.preferences",
        "embed.confirmed",
    }
)
# What the frame tells the host page when it shows a page (static/js/embed-frame.js).
EVENTS = {
    "registration.register": "savitarna:form-shown",
    "auth.login": "savitarna:form-shown",
    "registration.sent": "savitarna:registered",
}
TOKEN_SALT = "savitarna.embed-form"  # noqa: S105 (a salt, not a secret)
TICKET_SALT = "savitarna.embed-registration"
# Set by the embedded login page; a login post without it proves the browser
# keeps no cookie for the frame.
PROBE_COOKIE = "savitarna_frame"


class TenantConverter(BaseConverter):
    """A tenant slug, optionally followed by /embed."""

    regex = r"[^/]+(?:/embed)?"

    def to_url(self, value) -> str:
        return quote(str(value), safe="/")


def init_app(app: Flask) -> None:
    """Install the converter (before any blueprint), hooks and session cookies."""
    app.url_map.converters["tenant"] = TenantConverter
    # Flask-WTF's own before_request is replaced by protect_posts, which
    # chooses between its session check and the embed check per request.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # How often the 'check your email' page in a frame asks about confirmation.
    app.config.setdefault("EMBED_CONFIRM_POLL_SECONDS", 10)
    app.session_interface = FrameSessionInterface()
    app.url_value_preprocessor(pull_embed)
    app.url_defaults(add_embed)
    app.before_request(protect_posts)
    app.jinja_env.globals["csrf_token"] = form_token
    app.context_processor(embed_context)
    app.after_request(set_probe_cookie)


def embed_context() -> dict:
    sent = g.get("embed") and request.endpoint == "registration.sent"
    return {
        "embed": bool(g.get("embed")),
        "embed_host": host_origin(),
        "embed_event": EVENTS.get(request.endpoint) if g.get("embed") else None,
        "embed_poll": _poll() if sent else None,
        "csrf_token": form_token,
    }


def _poll() -> dict:
    return {
        "url": url_for("embed.confirmed"),
        "every": current_app.config["EMBED_CONFIRM_POLL_SECONDS"] * 1000,
    }


def pull_embed(endpoint: str | None, values: dict | None) -> None:
    """url_value_preprocessor (runs before pull_tenant): `slug/embed` → g.embed."""
    slug = (values or {}).get("tenant")
    if not isinstance(slug, str) or not slug.endswith(SUFFIX):
        return
    g.embed = True
    values["tenant"] = slug.removesuffix(SUFFIX)
    if endpoint not in EMBEDDABLE:
        abort(404)


def add_embed(endpoint: str, values: dict) -> None:
    """url_defaults (runs before add_tenant): inside a frame, links to embeddable
    pages stay embedded and keep the language and host page. An explicit
    `tenant=` (emails, links that leave the frame) builds the full-site URL."""
    if not g.get("embed") or "tenant" in values or endpoint not in EMBEDDABLE:
        return
    if "tenant" not in g:
        return
    values["tenant"] = g.tenant.slug + SUFFIX
    language = request.args.get("lang")
    if language in current_app.config["LANGUAGES"]:
        values.setdefault("lang", language)
    host = host_origin()
    if host:
        values.setdefault("host", host)


def host_origin() -> str | None:
    """The host page's origin, when it is on the tenant's list: from `?host=`,
    else from the Referer of the frame's first request. The frame script posts
    its messages to this origin only."""
    if not g.get("embed") or "settings" not in g:
        return None
    if "embed_host" not in g:
        asked = request.args.get("host") or _origin(request.referrer)
        g.embed_host = asked if asked in g.settings.embed_origins else None
    return g.embed_host


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def form_token() -> str:
    """The value of a form's csrf_token field: Flask-WTF's (kept in the session)
    on the full site, a signed tenant-bound token in a frame."""
    if not g.get("embed") or "tenant" not in g:
        return generate_csrf()
    if "embed_token" not in g:
        g.embed_token = _serializer().dumps({"tenant": g.tenant.slug})
    return g.embed_token


class FormTokenCSRF(CSRF):
    """wtforms CSRF for every form (webapp.forms.Form): the field's value comes
    from form_token(); a post that protect_posts already verified passes."""

    def generate_csrf_token(self, csrf_token_field) -> str:
        return form_token()

    def validate_csrf_token(self, form, field) -> None:
        if g.get("csrf_valid"):
            return
        validate_csrf(field.data)


def check_form_token(token: str | None, tenant_slug: str) -> None:
    """Raise CSRFError unless `token` is ours, unexpired and for this tenant."""
    if not token:
        raise CSRFError("The embed form token is missing.")
    try:
        data = _serializer().loads(token, max_age=current_app.config["WTF_CSRF_TIME_LIMIT"])
    except SignatureExpired as exc:
        raise CSRFError("The embed form token has expired.") from exc
    except BadData as exc:
        raise CSRFError("The embed form token is invalid.") from exc
    if not isinstance(data, dict) or data.get("tenant") != tenant_slug:
        raise CSRFError("The embed form token is for another tenant.")


def check_same_origin() -> None:
    """Only the app's own pages may post: the form posts to itself inside the
    frame. A cross-site page (even an allowed host page) posting straight at
    us, or a request that names no origin at all, gets 400."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if fetch_site is None and origin is None:
        abort(400)
    if fetch_site is not None and fetch_site != "same-origin":
        abort(400)
    if origin is not None and origin not in _own_origins():
        abort(400)


def _own_origins() -> set[str]:
    # Behind a proxy that ends TLS, the request itself may look like http.
    schemes = {request.scheme, current_app.config["PREFERRED_URL_SCHEME"]}
    return {f"{scheme}://{request.host}" for scheme in schemes}


def protect_posts() -> None:
    """before_request: CSRF protection for every POST, by the mode of the page."""
    config = current_app.config
    if not config["WTF_CSRF_ENABLED"] or request.method not in config["WTF_CSRF_METHODS"]:
        return
    if not g.get("embed"):
        # apply_exemptions: a view marked @csrf.exempt (a client without a
        # browser, such as a token endpoint) is not checked.
        csrf.protect(apply_exemptions=True)
        return
    check_same_origin()
    check_form_token(request.form.get(config["WTF_CSRF_FIELD_NAME"]), g.tenant.slug)
    # Tells Flask-WTF's form-level check that this request is already verified.
    g.csrf_valid = True


class FrameSessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions; in a frame the cookie must be SameSite=None,
    Secure and Partitioned (CHIPS) for the browser to keep it at all, and it
    is only set for a login or when the frame already holds one, so an
    anonymous registration in a frame never sets a cookie."""

    def get_cookie_samesite(self, app):
        return "None" if g.get("embed") else super().get_cookie_samesite(app)

    def get_cookie_secure(self, app):
        return True if g.get("embed") else super().get_cookie_secure(app)

    def get_cookie_partitioned(self, app):
        return True if g.get("embed") else super().get_cookie_partitioned(app)

    def should_set_cookie(self, app, session) -> bool:
        from .auth.sessions import PENDING_KEY

        anonymous = "_user_id" not in session and PENDING_KEY not in session
        if g.get("embed") and anonymous and self.get_cookie_name(app) not in request.cookies:
            return False
        return super().should_set_cookie(app, session)


def set_probe_cookie(response):
    """after_request: the embedded login page leaves a small cookie, so its post
    can tell whether the browser keeps cookies for the frame at all."""
    if g.get("embed") and request.endpoint == "auth.login":
        response.set_cookie(
            PROBE_COOKIE, "1", samesite="None", secure=True, partitioned=True, httponly=True
        )
    return response


def frame_keeps_no_cookies() -> bool:
    """A post from the embedded login page that came without the probe cookie:
    a login here could not last beyond this answer."""
    return bool(g.get("embed")) and PROBE_COOKIE not in request.cookies


def registration_ticket(email: str) -> str | None:
    """In a frame, a signed note of who registered when, for the 'check your
    email' page to ask whether the address has been confirmed since (the
    host page's "savitarna:confirmed"). It travels in the URL fragment, which
    never reaches a server or its logs. None on the full site."""
    if not g.get("embed"):
        return None
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TICKET_SALT).dumps(
        # Its own time, to the microsecond: the signature's is whole seconds.
        {"tenant": g.tenant.slug, "email": email, "at": time.time()}
    )


def read_registration_ticket(ticket: str, tenant_slug: str, max_age: int):
    """(email, issued at as a Unix time), or None for a bad or expired ticket."""
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TICKET_SALT)
    try:
        data = serializer.loads(ticket, max_age=max_age)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("tenant") != tenant_slug:
        return None
    email, at = data.get("email"), data.get("at")
    if not isinstance(email, str) or not isinstance(at, int | float):
        return None
    return email, datetime.fromtimestamp(at, UTC)

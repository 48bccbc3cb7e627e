"""CSRF protection by the mode of the page. The frame may get no cookies at
all (Safari, Chrome with third-party cookies blocked), so form posts in embed
mode are protected without the session: a signed, expiring, tenant-bound form
token in the usual `csrf_token` field, and an Origin / Sec-Fetch-Site check
that only lets the app's own pages post. Everything else keeps Flask-WTF's
session-bound CSRF protection."""

from __future__ import annotations

from flask import abort, current_app, g, request
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from wtforms.csrf.core import CSRF

from ..extensions import csrf

TOKEN_SALT = "savitarna.embed-form"  # noqa: S105 (a salt, not a secret)


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

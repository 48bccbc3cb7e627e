"""Embed mode: registration and login inside a utility's own website (an iframe
on another origin), with the same views, forms and templates as the full site.
base.html drops the site chrome when `embed` is set.

By job: urls.py (the `<slug>/embed` addresses and links that stay in the
frame), sessions.py (cookies a frame can keep), csrf.py (post protection
without the session), probe.py (does the frame keep cookies at all?),
tickets.py (has the registration been confirmed yet?), views.py (the one page
embed mode adds) and demo.py (the demo host page)."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, g, request, url_for

from .csrf import form_token, protect_posts
from .probe import set_probe_cookie
from .sessions import FrameSessionInterface
from .urls import TenantConverter, add_embed, host_origin, pull_embed

bp = Blueprint("embed", __name__, url_prefix="/<tenant:tenant>")

# What the frame tells the host page when it shows a page (static/js/embed-frame.js).
EVENTS = {
    "registration.register": "savitarna:form-shown",
    "auth.login": "savitarna:form-shown",
    "registration.sent": "savitarna:registered",
}


def init_app(app: Flask) -> None:
    """Install the converter (before any blueprint), hooks and session cookies."""
    # Here rather than at the top: webapp/forms.py imports this package (for
    # csrf.FormTokenCSRF), and the view needs the accounts core, which needs
    # webapp/forms.py.
    from . import views  # noqa: F401

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

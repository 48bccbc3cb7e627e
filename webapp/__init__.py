"""Savitarna: registration and login self-service for utilities' customers."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, flash, g, redirect, request, session, url_for
from flask.globals import request_ctx
from flask_babel import get_locale
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import INSTALLED, PROJECT_ROOT, RESOURCE_ROOT, load_config
from .extensions import babel, compress, csrf, db, limiter, login_manager, migrate
from .routing import RowId


def create_app(config: dict | None = None) -> Flask:
    """Build the application: config, extensions, blueprints, hooks, errors, CLI."""
    # The repository's instance/; an installed package's is Flask's own choice
    # (<prefix>/var/webapp-instance), never inside site-packages.
    instance = os.environ.get("INSTANCE_PATH") or (
        None if INSTALLED else str(PROJECT_ROOT / "instance")
    )
    app = Flask(
        __name__,
        instance_path=instance,
        template_folder=str(RESOURCE_ROOT / "templates"),
        static_folder=str(RESOURCE_ROOT / "static"),
    )
    app.config.update(load_config(Path(app.instance_path), config))
    app.url_map.converters["int"] = RowId  # before the routes that use it
    register_middleware(app)
    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_middleware(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client's address and the
    scheme from their X-Forwarded-For / X-Forwarded-Proto, so rate limits and the
    audit log see the customer and emailed links say https. X-Forwarded-Host is
    not trusted: a proxy that passes on a client's header would let the client
    choose the host of a password-reset link."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0)


def register_extensions(app: Flask) -> None:
    from . import assets, embed, forms, funnel, jobs, limits, mail
    from .i18n import select_locale

    limits.configure(app, os.environ)
    limiter.init_app(app)
    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True
    )
    forms.init_app(app)  # its body check runs before the CSRF check
    csrf.init_app(app)
    embed.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    compress.init_app(app)
    assets.init_app(app)
    jobs.init_app(app)
    mail.init_app(app)
    funnel.init_app(app)

    @login_manager.user_loader
    def load_user(session_id: str):
        from .auth.flows import load_session_account
        from .auth.sessions import LOGIN_KEY

        tenant = g.get("tenant")
        if tenant is None:
            return None
        found = load_session_account(tenant, session_id, session.get(LOGIN_KEY))
        if found is None:
            return None
        account, g.login_session = found
        return account

    @login_manager.unauthorized_handler
    def unauthorized():
        """To the login page, which returns to the page asked for (a GET of
        this tenant's: a form's POST cannot be repeated by a redirect)."""
        from .auth.sessions import safe_next
        from .messages import message

        flash(message("LOGIN_REQUIRED"), "info")
        wanted = request.full_path.removesuffix("?") if request.method == "GET" else None
        next_url = safe_next(wanted, g.tenant.slug) if "tenant" in g else None
        return redirect(url_for("auth.login", next=next_url))


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def register_blueprints(app: Flask) -> None:
    from . import (
        account,
        auth,
        console,
        embed,
        factors,
        mailbox,
        main,
        oidc,
        privacy,
        pwa,
        qa_mail,
        registration,
    )

    for package in (
        main,
        auth,
        registration,
        account,
        privacy,
        factors,
        embed,
        mailbox,
        qa_mail,
        pwa,
        oidc,
    ):
        app.register_blueprint(package.bp)
    app.register_blueprint(console.bp)
    factors.init_app(app)
    oidc.init_app(app)
    console.init_app(app)


def register_request_hooks(app: Flask) -> None:
    from . import logs
    from .i18n import remember_language
    from .security_headers import set_security_headers
    from .tenants import add_tenant, pull_tenant

    logs.init_app(app)
    app.url_value_preprocessor(pull_tenant)
    app.url_defaults(add_tenant)
    app.after_request(remember_language)
    app.after_request(set_security_headers)


def register_errorhandlers(app: Flask) -> None:
    from .htmx import render, wants_fragment

    def bad_host():
        """A Host that is not ours (TRUSTED_HOSTS) or not a host at all: no URL
        can be built for it, so its page links to nothing. Hooks run before the
        routing error is raised, so a CSRF or limit error may come first."""
        return render("errors/bad_host.html", 400)

    def page_or_error_line(status: int, page: str, line: str, **context):
        """The error page; for an htmx live check, the field's error line instead,
        so the form stays as typed. Other fragment requests swap nothing."""
        if request_ctx.url_adapter is None:
            return bad_host()
        target = request.headers.get("HX-Target", "")
        if wants_fragment() and target.endswith("-error"):
            return render(line, status, target=target, **context)
        response = render(page, status, **context)
        if wants_fragment():
            response.headers["HX-Reswap"] = "none"
        return response

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError):
        if wants_fragment():
            # A live check sent from a page being left (its debounce fired
            # after the submit, with the cookie of that moment) is refused here;
            # its answer must not write that stale session back over the one
            # the next page has set (which would refuse that page's forms too)
            # nor use up the notice the next page shows (webapp/embed/sessions.py).
            g.keep_session_cookie = True
        return page_or_error_line(400, "errors/expired.html", "errors/_expired.html")

    @app.errorhandler(429)
    def too_many(error):
        from .limits import retry_after_seconds

        seconds = retry_after_seconds()
        minutes = max(1, round(seconds / 60))
        response = page_or_error_line(
            429, "errors/error.html", "errors/_too_many.html", code=429, minutes=minutes
        )
        response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if request_ctx.url_adapter is None:
            return bad_host()
        response = render("errors/error.html", error.code, code=error.code)
        if wants_fragment():
            response.headers["HX-Reswap"] = "none"
        return response

    @app.errorhandler(InternalServerError)
    def server_error(error):
        db.session.rollback()
        return render("errors/error.html", 500, code=500)


def register_template_helpers(app: Flask) -> None:
    from .factors.views import passkey_problem
    from .htmx import integrity, live_check
    from .i18n import LANGUAGE_NAMES, language_url
    from .lithuanian import greeting, vocative
    from .messages import rule_text

    app.jinja_env.globals.update(
        live_check=live_check,
        integrity=integrity,
        language_url=language_url,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        rule_text=rule_text,
        passkey_problem=passkey_problem,
    )
    app.jinja_env.filters.update(greeting=greeting, vocative=vocative)

    @app.context_processor
    def tenant_context():
        return {
            "tenant": g.get("tenant"),
            "settings": g.get("settings"),
            "current_language": str(get_locale()),
            "is_fragment": request.headers.get("HX-Request") == "true",
        }


def register_commands(app: Flask) -> None:
    from . import cli

    cli.init_app(app)

"""The utilities' staff console under /console/: staff accounts that are not
customer accounts (models.py), their own session cookie and CSRF tokens
(sessions.py), mandatory authenticator codes, roles per tenant (access.py),
customer search and the customer page (search.py, views.py), and the
`flask staff` commands (cli.py). Its pages are never framed and have rate
limits of their own (keys start with "console")."""

from __future__ import annotations

import os

from flask import Blueprint, Flask

bp = Blueprint("console", __name__, url_prefix="/console")

DEFAULTS = {
    # Per client address, and per email typed (failures only), at the console login.
    "RATELIMIT_CONSOLE_LOGIN_IP": "20 per minute;200 per hour",
    "RATELIMIT_CONSOLE_LOGIN_ACCOUNT": "5 per 15 minutes",
    # Wrong authenticator codes of one half-done staff login, from any address.
    "RATELIMIT_CONSOLE_CODE": "5 per 5 minutes",
    # The set-password link's page, per address.
    "RATELIMIT_CONSOLE_LINK_IP": "30 per 10 minutes",
    # Every other console page (search as you type included), per address.
    "RATELIMIT_CONSOLE_PAGE_IP": "300 per minute",
}
SECONDS = {
    "CONSOLE_INVITE_HOURS": 72,
    "CONSOLE_IDLE_SECONDS": 30 * 60,
    "CONSOLE_SESSION_SECONDS": 10 * 3600,
}


def init_app(app: Flask) -> None:
    """The console's cookie, headers, settings and commands."""
    from .cli import staff_cli
    from .sessions import ConsoleSessionInterface, is_console_request

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, os.environ.get(key, value))
    for key, value in SECONDS.items():
        app.config.setdefault(key, int(os.environ.get(key, value)))
    # Replaces embed mode's interface, which it extends (registered before).
    app.session_interface = ConsoleSessionInterface()
    app.cli.add_command(staff_cli)

    @app.after_request
    def console_never_framed(response):
        # Registered before set_security_headers, so it runs after it and wins.
        if is_console_request():
            from ..security_headers import never_framed

            never_framed(response)
        return response


from . import customer_actions, models, registry_views, views, webhooks  # noqa: E402,F401  # noqa: E402,F401

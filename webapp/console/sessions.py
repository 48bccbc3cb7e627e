"""The console's own session cookie. Under /console the session is another
cookie (CONSOLE_COOKIE, path /console, SameSite=Strict) signed with another
salt: a customer's session cookie is never read there, a console cookie is
never sent to a customer page, and neither validates as the other even if a
browser were made to send it under the other's name. Flask-WTF keeps its
CSRF token in the session, so the console's forms have their own tokens too.

Which cookie a request uses is chosen by its path, in the one session
interface the app has (embed mode's, webapp/embed/sessions.py, extended)."""

from __future__ import annotations

from flask import has_request_context, request

from ..embed.sessions import FrameSessionInterface

CONSOLE_PREFIX = "/console"
CONSOLE_COOKIE = "savitarna_console"
CONSOLE_SALT = "savitarna-console-session"


def is_console_request() -> bool:
    """Whether this request is for a console page (/console or below it)."""
    if not has_request_context():
        return False
    path = request.path
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


class ConsoleSessionInterface(FrameSessionInterface):
    """Signed-cookie sessions: the console's cookie under /console, the
    customers' (framed or not) everywhere else."""

    @property
    def salt(self) -> str:  # type: ignore[override]
        return CONSOLE_SALT if is_console_request() else "cookie-session"

    def get_cookie_name(self, app) -> str:
        return CONSOLE_COOKIE if is_console_request() else super().get_cookie_name(app)

    def get_cookie_path(self, app) -> str:
        if is_console_request():
            return request.script_root + CONSOLE_PREFIX
        return super().get_cookie_path(app)

    def get_cookie_samesite(self, app):
        # Nothing outside links into a console session: an invitation link
        # opened from a mail client starts a new one.
        return "Strict" if is_console_request() else super().get_cookie_samesite(app)

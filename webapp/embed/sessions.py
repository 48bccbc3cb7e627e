"""Session cookies that a frame on another origin can keep."""

from __future__ import annotations

from flask import g, request
from flask.sessions import SecureCookieSessionInterface


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
        from ..auth.sessions import PENDING_KEY

        if g.get("keep_session_cookie"):
            return False  # a refused background request (webapp/__init__.py, csrf_failed)
        anonymous = "_user_id" not in session and PENDING_KEY not in session
        if g.get("embed") and anonymous and self.get_cookie_name(app) not in request.cookies:
            return False
        return super().should_set_cookie(app, session)

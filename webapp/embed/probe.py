"""The probe cookie: does the browser keep cookies for the frame at all?"""

from __future__ import annotations

from flask import g, request

# Set by the embedded login page; a login post without it proves the browser
# keeps no cookie for the frame.
PROBE_COOKIE = "savitarna_frame"


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

"""Registration: the pages of every profile (webapp/profiles), live checks, and the
'check your email' page."""

from flask import Blueprint

bp = Blueprint("registration", __name__, url_prefix="/<tenant:tenant>")

from . import views  # noqa: E402,F401

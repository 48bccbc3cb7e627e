"""Login, logout, emailed links (confirm, activate, reset) and 'send again'."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/<tenant:tenant>")

from . import views  # noqa: E402,F401

"""The customer's "Security and privacy" page: sessions and devices, a new
email address, a download of their data, and deleting the account."""

from flask import Blueprint

bp = Blueprint("privacy", __name__, url_prefix="/<tenant:tenant>/account/privacy")

from . import views  # noqa: E402,F401

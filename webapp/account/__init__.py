"""The logged-in customer's page: details, invoice and SMS choices, password."""

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/<tenant:tenant>/account")

from . import views  # noqa: E402,F401

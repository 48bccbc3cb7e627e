"""Pages outside any one flow: the list of utilities, a utility's site rules and
its brand stylesheet."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from . import views  # noqa: E402,F401

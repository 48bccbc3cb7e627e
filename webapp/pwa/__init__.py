"""The progressive web app: each utility's web app manifest, its service worker
and the offline page that the service worker shows when the network is gone."""

from flask import Blueprint

bp = Blueprint("pwa", __name__)

from . import views  # noqa: E402,F401

"""Development mailbox: the outbox as a web page, so a newcomer (and a QA suite)
can open the emails' links without a mail server. Off in production."""

from flask import Blueprint

bp = Blueprint("mailbox", __name__, url_prefix="/_mailbox")

from . import views  # noqa: E402,F401

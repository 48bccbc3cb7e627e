"""QA mail API: on a staging deployment with QA_MAIL_CAPTURE on, the email sent
to a tenant's test addresses (its `qa_addresses`) is readable as JSON with the
QA_TOKEN bearer token, so a utility's browser tests can open their own
confirmation links. The tester's side (pytest plugin, page objects) is the
savitarna_qa package; this is the server's side only."""

from flask import Blueprint

bp = Blueprint("qa_mail", __name__, url_prefix="/<tenant:tenant>/_qa")

from . import views  # noqa: E402,F401

"""The registration funnel of each utility (issue #12): daily counts of its
steps, without personal data or cookies (counting.py), read back by day or
week (aggregates.py) and drawn as an accessible SVG (chart.py)."""

from __future__ import annotations

from flask import Flask

from .. import events
from .aggregates import report
from .counting import (
    channel,
    count_live_check,
    count_page_view,
    count_refused,
    count_submitted,
    on_confirmed,
    on_login,
)

__all__ = [
    "channel",
    "count_live_check",
    "count_refused",
    "count_submitted",
    "init_app",
    "report",
]


def init_app(app: Flask) -> None:
    """Count page views after each request and the steps after the form as
    their events are emitted."""
    app.after_request(count_page_view)
    events.listen(app, "account.email_confirmed", on_confirmed)
    events.listen(app, "login.succeeded", on_login)

"""The registration funnel of each utility (issue #12): daily counts of its
steps, without personal data or cookies (counting.py), read back by day or
week (aggregates.py), drawn as an accessible SVG (chart.py) and exported as
CSV (export.py). The staff console includes templates/funnel/_report.html."""

from __future__ import annotations

from flask import Flask
from flask_babel import format_percent

from .. import events
from ..i18n import LANGUAGE_NAMES
from .aggregates import CHANNEL_LABELS, LABELS, PATH, FunnelReport, report
from .chart import chart_svg
from .counting import (
    TALLY,
    Tally,
    channel,
    count_live_check,
    count_refused,
    count_request,
    count_submitted,
    fields_of,
    on_confirmed,
    on_login,
)
from .export import report_csv

__all__ = [
    "FunnelReport",
    "channel",
    "chart_svg",
    "count_live_check",
    "count_refused",
    "count_submitted",
    "init_app",
    "report",
    "report_csv",
]


def init_app(app: Flask) -> None:
    """Count each request's steps after it (the page view, the live checks,
    the posts) and the steps after the form as their events are emitted."""
    app.extensions[TALLY] = Tally(app, app.config["FUNNEL_FLUSH_SECONDS"])
    app.after_request(count_request)
    # What templates/funnel/_report.html draws with.
    app.jinja_env.globals.update(
        funnel_chart=chart_svg,
        funnel_steps=PATH,
        funnel_labels=LABELS,
        funnel_channels=CHANNEL_LABELS,
        funnel_languages=LANGUAGE_NAMES,
        funnel_percent=format_percent,
    )
    app.jinja_env.globals["funnel_fields"] = fields_of
    events.listen(app, "account.email_confirmed", on_confirmed)
    events.listen(app, "login.succeeded", on_login)

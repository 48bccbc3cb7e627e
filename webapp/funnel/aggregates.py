"""Reading the funnel: one tenant's daily rows summed into days or ISO weeks
(Monday to Sunday, cut to the asked range), with each step's conversion."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..models import FunnelDay, Tenant
from .counting import CHANNELS, STEPS

# The steps one after another (field errors are beside them, not a step on the way).
PATH = ("page_view", "started", "submitted", "confirmed", "first_login")
LABELS = {
    "page_view": _l("Opened the registration page"),
    "started": _l("Started filling in"),
    "field_error": _l("Field errors"),
    "submitted": _l("Submitted the form"),
    "confirmed": _l("Confirmed the email address"),
    "first_login": _l("Logged in for the first time"),
}
CHANNEL_LABELS = {"embedded": _l("Embedded form"), "direct": _l("Self-service site")}
GROUPINGS = ("day", "week")


@dataclass
class Period:
    """One day or week: each step's count, and the field errors by field."""

    start: date
    end: date
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STEPS, 0))
    fields: dict[str, int] = field(default_factory=dict)

    def conversion(self, step: str) -> float | None:
        """The share of the step before it on the way that reached `step`
        (None for the first step or when the one before is 0)."""
        if step not in PATH or step == PATH[0]:
            return None
        before = self.counts[PATH[PATH.index(step) - 1]]
        return self.counts[step] / before if before else None

    def of_views(self, step: str) -> float | None:
        """The share of page views that reached `step`."""
        views = self.counts["page_view"]
        return self.counts[step] / views if views else None


@dataclass
class Report:
    tenant_slug: str
    start: date
    end: date
    by: str
    channel: str | None
    language: str | None
    periods: list[Period]
    total: Period

    def rows(self) -> list[dict]:
        """One mapping per period: its dates, each step's count and conversion."""
        return [
            {
                "start": period.start,
                "end": period.end,
                **period.counts,
                **{f"{step}_conversion": period.conversion(step) for step in PATH[1:]},
            }
            for period in self.periods
        ]


def report(
    tenant: Tenant,
    start: date,
    end: date,
    by: str = "day",
    channel: str | None = None,
    language: str | None = None,
) -> Report:
    """The funnel of `tenant` from `start` to `end` (UTC days, both included),
    by day or by week, optionally of one channel ("embedded", "direct") or one
    language. Only this tenant's rows are read."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {GROUPINGS}, not {by!r}")
    if channel is not None and channel not in CHANNELS:
        raise ValueError(f"channel must be one of {CHANNELS}, not {channel!r}")
    if end < start:
        raise ValueError("the end is before the start")
    query = (
        select(FunnelDay.day, FunnelDay.step, FunnelDay.field, func.sum(FunnelDay.count))
        .where(FunnelDay.tenant_id == tenant.id, FunnelDay.day >= start, FunnelDay.day <= end)
        .group_by(FunnelDay.day, FunnelDay.step, FunnelDay.field)
    )
    if channel is not None:
        query = query.where(FunnelDay.channel == channel)
    if language is not None:
        query = query.where(FunnelDay.language == language)
    periods = _periods(start, end, by)
    starts = {period.start: period for period in periods}
    total = Period(start, end)
    for day, step, field_name, count in db.session.execute(query):
        period = starts[_period_start(day, start, by)]
        for into in (period, total):
            into.counts[step] = into.counts.get(step, 0) + count
            if step == "field_error":
                into.fields[field_name] = into.fields.get(field_name, 0) + count
    return Report(tenant.slug, start, end, by, channel, language, periods, total)


def _period_start(day: date, start: date, by: str) -> date:
    if by == "day":
        return day
    return max(start, day - timedelta(days=day.weekday()))


def _periods(start: date, end: date, by: str) -> list[Period]:
    periods = []
    current = start
    while current <= end:
        week_end = current + timedelta(days=6 - current.weekday())
        last = current if by == "day" else min(end, week_end)
        periods.append(Period(current, last))
        current = last + timedelta(days=1)
    return periods


def last_days(days: int, today: date) -> tuple[date, date]:
    """The `days` UTC days up to and including `today`."""
    return today - timedelta(days=days - 1), today
